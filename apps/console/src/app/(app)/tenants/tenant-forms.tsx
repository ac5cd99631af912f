"use client";
import { useActionState } from "react";
import { ActionMessage, FieldError, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { echoed } from "@/components/parts/client.tsx";
import { idleState } from "@/lib/idle.ts";
import type { Tenant } from "@/lib/types.ts";
import { createTenant, updateTenant } from "./actions.ts";

const quotaLabels: [keyof Tenant["quotas"], string][] = [
  ["maxConnections", "Connections"],
  ["maxSubscriptionsPerClient", "Subscriptions per client"],
  ["maxMessagesPerSecond", "Messages / s"],
  ["maxBytesPerSecond", "Bytes / s"],
  ["maxRetainedMessages", "Retained messages"],
  ["maxQueuedMessages", "Queued messages per session"],
  ["maxPacketSize", "Max packet size (bytes)"],
];

function QuotaFields({ quotas, state }: { quotas?: Tenant["quotas"]; state: Parameters<typeof FieldError>[0]["state"] }) {
  const v = echoed(state);
  return (
    <div className="grid-3">
      {quotaLabels.map(([k, label]) => (
        <div className="field" key={k}>
          <label htmlFor={`q-${k}`}>{label}</label>
          <input id={`q-${k}`} name={k} inputMode="numeric" placeholder="unlimited" defaultValue={v(k, String(quotas?.[k] ?? ""))} />
          <FieldError state={state} name={`quotas.${k}`} />
        </div>
      ))}
    </div>
  );
}

export function CreateTenantForm() {
  const [state, action] = useActionState(createTenant, idleState);
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <form action={action} ref={ref} className="card" aria-labelledby="create-tenant">
      <h2 id="create-tenant">Create a tenant</h2>
      <ActionMessage state={state} />
      <div className="grid-2">
        <div className="field">
          <label htmlFor="slug">Slug</label>
          <input id="slug" name="slug" required pattern="[a-z0-9][a-z0-9-]{0,62}" placeholder="acme" defaultValue={v("slug")} aria-describedby="slug-hint slug-error" />
          <div className="hint" id="slug-hint">
            Lowercase letters, digits and dashes. Devices log in as <code>user@slug</code>.
          </div>
          <FieldError state={state} name="slug" />
        </div>
        <div className="field">
          <label htmlFor="name">Name</label>
          <input id="name" name="name" required placeholder="Acme Corp" defaultValue={v("name")} aria-describedby="name-error" />
          <FieldError state={state} name="name" />
        </div>
      </div>
      <details>
        <summary>Quotas (optional)</summary>
        <QuotaFields state={state} />
      </details>
      <SubmitButton>Create tenant</SubmitButton>
    </form>
  );
}

export function QuotaForm({ tenant }: { tenant: Tenant }) {
  const [state, action] = useActionState(updateTenant, idleState);
  return (
    <form action={action}>
      <input type="hidden" name="tenant" value={tenant.slug} />
      <ActionMessage state={state} />
      <QuotaFields quotas={tenant.quotas} state={state} />
      <SubmitButton className="small primary">Save quotas</SubmitButton>
    </form>
  );
}
