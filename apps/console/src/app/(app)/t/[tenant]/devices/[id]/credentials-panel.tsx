"use client";
/**
 * A device's username/password credentials. A new or rotated password comes
 * back from the API exactly once: it is held in this component's state only
 * (never stored by the console), shown with copy buttons and ready-to-paste
 * client snippets, and gone when the user dismisses it or leaves the page.
 */
import { useActionState, useState } from "react";
import { ConfirmSubmit, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { fmtAgo, fmtDate } from "@/lib/format.ts";
import { idleState } from "@/lib/idle.ts";
import type { CreatedCredential, Credential } from "@/lib/types.ts";
import { createCredential, revokeCredential, rotateCredential, setCredentialEnabled, setCredentialExpiry } from "../actions.ts";
import { echoed, Field, FieldErrors, LocalDateTimeInput, OnceCard, OnceSecret, OtherErrors, Pill, Snippet, Subform } from "@/components/parts/client.tsx";
import { ConfirmForm } from "@/components/parts/confirm-form.tsx";
import { Notices, useNotify, withNotice } from "@/components/parts/notices.tsx";
import { mqttUsername, passwordSnippets, type Endpoint } from "../snippets.ts";
import { ActionsHead, DataTable } from "@/components/table.tsx";

export type CredentialStatus = "active" | "disabled" | "expired" | "revoked";
export type CredentialRow = Credential & { status: CredentialStatus };

interface Ctx {
  tenant: string;
  deviceId: string;
  clientId: string;
  endpoint: Endpoint;
}

const statusBadge: Record<CredentialStatus, { tone?: "ok" | "warn" | "bad"; label: string }> = {
  active: { tone: "ok", label: "Active" },
  disabled: { label: "Disabled" },
  expired: { tone: "warn", label: "Expired" },
  revoked: { tone: "bad", label: "Revoked" },
};

function Ids({ ctx, credentialId }: { ctx: Ctx; credentialId?: string }) {
  return (
    <>
      <input type="hidden" name="tenant" value={ctx.tenant} />
      <input type="hidden" name="id" value={ctx.deviceId} />
      {credentialId ? <input type="hidden" name="credentialId" value={credentialId} /> : null}
    </>
  );
}

/** The one-time password with snippets for mosquitto_pub and MQTT.js. */
function NewPassword({ ctx, credential, rotated, onDone }: { ctx: Ctx; credential: CreatedCredential; rotated: boolean; onDone: () => void }) {
  const s = passwordSnippets(ctx.endpoint, { clientId: ctx.clientId, username: credential.username, password: credential.password, tenant: ctx.tenant });
  return (
    <OnceCard id="new-password" title={rotated ? `New password for ${credential.username}` : `Credential ${credential.username} created`} done="I have saved the password" onDone={onDone}>
      <OnceSecret label="Password" value={credential.password}>
        This password is shown only once. Copy it now: it is stored only as a hash and cannot be shown again{rotated ? "; the previous password no longer works" : ""}.
      </OnceSecret>
      <dl className="facts">
        <dt>MQTT username</dt>
        <dd className="mono">{mqttUsername(credential.username, ctx.tenant)}</dd>
        <dt>Client ID</dt>
        <dd className="mono">{ctx.clientId}</dd>
        <dt>Broker</dt>
        <dd className="mono">
          {ctx.endpoint.host}:{ctx.endpoint.port}
        </dd>
      </dl>
      <Snippet title="mosquitto_pub" code={s.mosquitto} />
      <Snippet title="MQTT.js" code={s.mqttjs} />
    </OnceCard>
  );
}

type CreateState = Awaited<ReturnType<typeof createCredential>>;

/** The action state lives in the panel, which shows the new password from it once the action has fully committed. */
function CreateCredentialForm({ ctx, state, action }: { ctx: Ctx; state: CreateState; action: (form: FormData) => void }) {
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <Subform id="create-credential" title="Create a credential" action={action} formRef={ref} state={state} failuresOnly>
      <Ids ctx={ctx} />
      <div className="grid-2">
        <Field
          id="cred-username"
          label="Username (optional)"
          state={state}
          name="username"
          hint={
            <>
              Defaults to the client ID. Devices log in as <code>username@{ctx.tenant}</code>.
            </>
          }
        >
          <input id="cred-username" name="username" defaultValue={v("username")} maxLength={256} autoComplete="off" placeholder={ctx.clientId.includes("@") ? "required: the client id contains @" : ctx.clientId} aria-describedby="cred-username-hint" />
        </Field>
        <div>
          <LocalDateTimeInput name="expiresAt" label="Expires at (optional)" hint="Your local time. Leave empty for a credential that does not expire." resetKey={state.ok ? state.at : undefined} />
          <FieldErrors state={state} name="expiresAt" />
        </div>
      </div>
      <OtherErrors state={state} known={["username", "expiresAt"]} />
      <p className="small muted">A strong password is generated and shown once.</p>
      <SubmitButton pendingText="Creating…">Create credential</SubmitButton>
    </Subform>
  );
}

function ExpiryForm({ ctx, credential, onSaved }: { ctx: Ctx; credential: CredentialRow; onSaved: () => void }) {
  const notify = useNotify();
  const [state, action] = useActionState(async (prev: typeof idleState, form: FormData) => {
    const r = await setCredentialExpiry(prev, form);
    notify(r);
    if (r.ok) onSaved();
    return r;
  }, idleState);
  return (
    <form action={action} className="inline-form popover-form">
      <Ids ctx={ctx} credentialId={credential.id} />
      <LocalDateTimeInput name="expiresAt" label={`Expires at (${credential.username})`} defaultIso={credential.expiresAt} required />
      <FieldErrors state={state} name="expiresAt" />
      <SubmitButton className="small primary" pendingText="Saving…">
        Save expiry
      </SubmitButton>
    </form>
  );
}

function ClearExpiry({ ctx, credential }: { ctx: Ctx; credential: CredentialRow }) {
  const notify = useNotify();
  const [, action] = useActionState(withNotice(notify, setCredentialExpiry), idleState);
  return (
    <form action={action}>
      <Ids ctx={ctx} credentialId={credential.id} />
      <SubmitButton className="small">
        Remove expiry<span className="sr-only"> of {credential.username}</span>
      </SubmitButton>
    </form>
  );
}

function CredentialActions({ ctx, credential, onRotated }: { ctx: Ctx; credential: CredentialRow; onRotated: (r: { credential: CreatedCredential; at: number }) => void }) {
  const notify = useNotify();
  const [expiryOpen, setExpiryOpen] = useState(false);
  // A rotation form has no fields React could reset under the user, so the password can go up at once.
  const [, rotate] = useActionState(async (prev: typeof idleState, form: FormData) => {
    const r = await rotateCredential(prev, form);
    notify(r);
    if (r.ok && r.data) onRotated({ credential: r.data, at: r.at ?? Date.now() });
    return r;
  }, idleState);
  const [, toggle] = useActionState(withNotice(notify, setCredentialEnabled), idleState);
  if (credential.status === "revoked") return <span className="muted small">Revoked {fmtDate(credential.revokedAt)}</span>;
  const who = <span className="sr-only"> {credential.username}</span>;
  return (
    <div className="stack-tight">
      <div className="row">
        <form action={rotate}>
          <Ids ctx={ctx} credentialId={credential.id} />
          <ConfirmSubmit className="small" question={`Rotate the password of ${credential.username}? The current password stops working at once and devices using it are disconnected.`}>
            Rotate{who}
          </ConfirmSubmit>
        </form>
        <button type="button" className="small" aria-expanded={expiryOpen} onClick={() => setExpiryOpen(!expiryOpen)}>
          Set expiry{who}
        </button>
        <form action={toggle}>
          <Ids ctx={ctx} credentialId={credential.id} />
          <input type="hidden" name="enabled" value={credential.enabled ? "false" : "true"} />
          <SubmitButton className="small">
            {credential.enabled ? "Disable" : "Enable"}
            {who}
          </SubmitButton>
        </form>
        <ConfirmForm
          notice
          action={revokeCredential}
          fields={{ tenant: ctx.tenant, id: ctx.deviceId, credentialId: credential.id }}
          question={`Revoke the credential ${credential.username}? It stops working at once, devices using it are disconnected, and it cannot be restored.`}
        >
          Revoke{who}
        </ConfirmForm>
      </div>
      {expiryOpen ? (
        <div className="row">
          <ExpiryForm ctx={ctx} credential={credential} onSaved={() => setExpiryOpen(false)} />
          {credential.expiresAt ? <ClearExpiry ctx={ctx} credential={credential} /> : null}
        </div>
      ) : null}
    </div>
  );
}

export function CredentialsPanel({ tenant, deviceId, clientId, endpoint, credentials, total, canEdit }: Ctx & { credentials: CredentialRow[]; total: number; canEdit: boolean }) {
  const ctx: Ctx = { tenant, deviceId, clientId, endpoint };
  const [created, create] = useActionState(createCredential, idleState as CreateState);
  const [rotated, setRotated] = useState<{ credential: CreatedCredential; at: number } | null>(null);
  const [dismissedAt, setDismissedAt] = useState<number | undefined>(undefined);
  // The newest one-time password (a create or a rotation), until dismissed.
  const latest = [
    created.ok && created.data ? { credential: created.data, rotated: false, at: created.at ?? 0 } : null,
    rotated ? { ...rotated, rotated: true } : null,
  ]
    .filter((x) => x !== null)
    .sort((a, b) => b.at - a.at)[0];
  const secret = latest && latest.at !== dismissedAt ? latest : null;
  return (
    <Notices>
      {secret ? <NewPassword ctx={ctx} credential={secret.credential} rotated={secret.rotated} onDone={() => setDismissedAt(secret.at)} /> : null}
      {credentials.length === 0 ? (
        <p className="muted small">No credentials. {canEdit ? "Create one below to let the device log in with a username and password." : ""}</p>
      ) : (
        <DataTable
          caption="Credentials"
          head={
            <>
              <th scope="col">Username</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col" className="hide-narrow">Last used</th>
              <th scope="col" className="hide-narrow">Created</th>
              {canEdit ? <ActionsHead /> : null}
            </>
          }
          after={total > credentials.length ? <p className="small muted pad">Showing {credentials.length} of {total} credentials.</p> : null}
        >
          {credentials.map((c) => (
            <tr key={c.id}>
              <td>
                <span className="mono">{c.username}</span>
                <div className="muted small mono">{mqttUsername(c.username, tenant)}</div>
              </td>
              <td>
                <Pill tone={statusBadge[c.status].tone}>{statusBadge[c.status].label}</Pill>
                {c.status === "revoked" ? <div className="muted small">{fmtDate(c.revokedAt)}</div> : null}
              </td>
              <td className="small">{c.expiresAt ? fmtDate(c.expiresAt) : <span className="muted">never</span>}</td>
              <td className="small hide-narrow" title={c.lastUsedAt ? fmtDate(c.lastUsedAt) : undefined} suppressHydrationWarning>
                {fmtAgo(c.lastUsedAt)}
              </td>
              <td className="small hide-narrow">{fmtDate(c.createdAt)}</td>
              {canEdit ? (
                <td>
                  <CredentialActions ctx={ctx} credential={c} onRotated={setRotated} />
                </td>
              ) : null}
            </tr>
          ))}
        </DataTable>
      )}
      {canEdit ? <CreateCredentialForm ctx={ctx} state={created} action={create} /> : null}
    </Notices>
  );
}
