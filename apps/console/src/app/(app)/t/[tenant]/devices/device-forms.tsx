"use client";
/** Forms of the device list: create a device, and the per-row enable/disable and delete buttons. */
import Link from "next/link";
import { useActionState } from "react";
import { ActionMessage, ConfirmSubmit, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import type { Device } from "@/lib/types.ts";
import { createDevice, deleteDevice, setDeviceEnabled } from "./actions.ts";
import { echoed, FieldErrors, OtherErrors } from "@/components/parts/client.tsx";
import { useNotify, withNotice } from "@/components/parts/notices.tsx";

export function CreateDeviceForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createDevice, idleState);
  const ref = useResetOnSuccess(state);
  const created = state.ok ? (state as { data?: Device }).data : undefined;
  const v = echoed(state);
  return (
    <form action={action} ref={ref} className="card" aria-labelledby="create-device">
      <h2 id="create-device">Create a device</h2>
      <div aria-live="polite">
        <ActionMessage state={state} />
        {created ? (
          <p className="small">
            Next: <Link href={`/t/${tenant}/devices/${created.id}`}>open {created.clientId}</Link> to give it a password or a certificate.
          </p>
        ) : null}
      </div>
      <input type="hidden" name="tenant" value={tenant} />
      <div className="grid-3">
        <div className="field">
          <label htmlFor="device-clientId">Client ID</label>
          <input id="device-clientId" name="clientId" defaultValue={v("clientId")} required maxLength={256} placeholder="sensor-001" autoComplete="off" aria-describedby="device-clientId-hint clientId-error" />
          <div className="hint" id="device-clientId-hint">
            The MQTT client identifier the device connects with.
          </div>
          <FieldErrors state={state} name="clientId" />
        </div>
        <div className="field">
          <label htmlFor="device-description">Description</label>
          <input id="device-description" name="description" defaultValue={v("description")} maxLength={1000} placeholder="Boiler room, 2nd floor" />
          <FieldErrors state={state} name="description" />
        </div>
        <div className="field">
          <label htmlFor="device-tags">Tags</label>
          <input id="device-tags" name="tags" defaultValue={v("tags")} placeholder="zone1, temperature" aria-describedby="device-tags-hint tags-error" />
          <div className="hint" id="device-tags-hint">
            Comma-separated; letters, digits and <code>_ . : = -</code>.
          </div>
          <FieldErrors state={state} name="tags" />
        </div>
      </div>
      <OtherErrors state={state} known={["clientId", "description", "tags"]} />
      <SubmitButton pendingText="Creating…">Create device</SubmitButton>
    </form>
  );
}

export function DeviceRowActions({ tenant, device }: { tenant: string; device: Pick<Device, "id" | "clientId" | "enabled"> }) {
  const notify = useNotify();
  const [, toggle] = useActionState(withNotice(notify, setDeviceEnabled), idleState);
  const [, remove] = useActionState(withNotice(notify, deleteDevice), idleState);
  return (
    <div className="row nowrap">
      <form action={toggle}>
        <input type="hidden" name="tenant" value={tenant} />
        <input type="hidden" name="id" value={device.id} />
        <input type="hidden" name="enabled" value={device.enabled ? "false" : "true"} />
        <SubmitButton className="small">
          {device.enabled ? "Disable" : "Enable"}
          <span className="sr-only"> {device.clientId}</span>
        </SubmitButton>
      </form>
      <form action={remove}>
        <input type="hidden" name="tenant" value={tenant} />
        <input type="hidden" name="id" value={device.id} />
        <ConfirmSubmit question={`Delete the device ${device.clientId}? Its credentials and certificates are deleted with it and it is disconnected.`}>
          Delete<span className="sr-only"> {device.clientId}</span>
        </ConfirmSubmit>
      </form>
    </div>
  );
}
