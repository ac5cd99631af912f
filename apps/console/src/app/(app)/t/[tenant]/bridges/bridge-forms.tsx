"use client";
/**
 * The bridges page's forms (tenant admins only): create a bridge, and per
 * row enable/disable and delete. Row outcomes go to the page's <Notices>,
 * since a deleted row unmounts with its form state.
 */
import { useActionState } from "react";
import { SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { echoed, Field, OtherErrors, Subform } from "@/components/parts/client.tsx";
import { ConfirmForm } from "@/components/parts/confirm-form.tsx";
import { useNotify, withNotice } from "@/components/parts/notices.tsx";
import { idleState } from "@/lib/idle.ts";
import { createBridge, deleteBridge, setBridgeEnabled } from "./actions.ts";

const KNOWN = ["name", "remoteUrl", "direction", "localFilter", "remotePrefix"];

export function CreateBridgeForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createBridge, idleState);
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <Subform id="create-bridge" title="Create a bridge" action={action} formRef={ref} state={state}>
      <input type="hidden" name="tenant" value={tenant} />
      <div className="grid-2">
        <Field id="bridge-name" label="Bridge name" state={state} name="name">
          <input id="bridge-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="to-cloud" autoComplete="off" />
        </Field>
        <Field
          id="bridge-url"
          label="Remote URL"
          state={state}
          name="remoteUrl"
          hint={
            <>
              <code>mqtt://</code>, <code>mqtts://</code>, <code>ws://</code> or <code>wss://</code>; no user name or password in the URL.
            </>
          }
        >
          <input id="bridge-url" name="remoteUrl" defaultValue={v("remoteUrl")} required maxLength={1000} placeholder="mqtts://broker.example.com:8883" inputMode="url" autoComplete="off" aria-describedby="bridge-url-hint" />
        </Field>
        <Field id="bridge-direction" label="Direction" state={state} name="direction">
          {/* keyed: React does not re-apply a select's defaultValue after a reset */}
          <select id="bridge-direction" name="direction" key={v("direction", "out")} defaultValue={v("direction", "out")}>
            <option value="out">Out: local → remote</option>
            <option value="in">In: remote → local</option>
            <option value="both">Both ways</option>
          </select>
        </Field>
        <Field id="bridge-filter" label="Local filter" state={state} name="localFilter" hint="The tenant's topics to bridge, e.g. sensors/# (no variables).">
          <input id="bridge-filter" name="localFilter" defaultValue={v("localFilter")} required maxLength={1024} placeholder="sensors/#" autoComplete="off" aria-describedby="bridge-filter-hint" />
        </Field>
        <Field id="bridge-prefix" label="Remote prefix (optional)" state={state} name="remotePrefix" hint="Put in front of topics on the remote side, e.g. site-1/ turns sensors/t into site-1/sensors/t.">
          <input id="bridge-prefix" name="remotePrefix" defaultValue={v("remotePrefix")} maxLength={1024} placeholder="site-1/" autoComplete="off" aria-describedby="bridge-prefix-hint" />
        </Field>
      </div>
      <OtherErrors state={state} known={KNOWN} />
      <SubmitButton pendingText="Creating…">Create bridge</SubmitButton>
    </Subform>
  );
}

export function BridgeActions({ tenant, id, name, enabled }: { tenant: string; id: string; name: string; enabled: boolean }) {
  const notify = useNotify();
  const [, toggle] = useActionState(withNotice(notify, setBridgeEnabled), idleState);
  return (
    <div className="row nowrap">
      <form action={toggle}>
        <input type="hidden" name="tenant" value={tenant} />
        <input type="hidden" name="bridgeId" value={id} />
        <input type="hidden" name="name" value={name} />
        <input type="hidden" name="enabled" value={enabled ? "false" : "true"} />
        <SubmitButton className="small" pendingText={enabled ? "Disabling…" : "Enabling…"}>
          {enabled ? "Disable" : "Enable"}
          <span className="sr-only"> bridge {name}</span>
        </SubmitButton>
      </form>
      <ConfirmForm notice action={deleteBridge} fields={{ tenant, bridgeId: id, name }} question={`Delete the bridge ${name}? Messages waiting for the remote are dropped.`}>
        Delete<span className="sr-only"> bridge {name}</span>
      </ConfirmForm>
    </div>
  );
}
