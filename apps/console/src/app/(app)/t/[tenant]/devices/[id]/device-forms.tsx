"use client";
/** Forms of the device page: details, enable/disable, delete and group membership. */
import Link from "next/link";
import { useActionState, type ReactNode } from "react";
import { ActionMessage, ConfirmSubmit, SubmitButton } from "@/components/forms.tsx";
import type { ActionState } from "@/lib/action.ts";
import { idleState } from "@/lib/idle.ts";
import type { Device, Group } from "@/lib/types.ts";
import { addToGroup, deleteDevice, removeFromGroup, setDeviceEnabled, updateDevice } from "../actions.ts";
import { echoed, Field, OtherErrors, Subform } from "@/components/parts/client.tsx";
import { Notices, useNotify, withNotice } from "@/components/parts/notices.tsx";

type DeviceView = Pick<Device, "id" | "clientId" | "description" | "tags" | "enabled">;

function Ids({ tenant, id }: { tenant: string; id: string }) {
  return (
    <>
      <input type="hidden" name="tenant" value={tenant} />
      <input type="hidden" name="id" value={id} />
    </>
  );
}

export function EditDeviceForm({ tenant, device }: { tenant: string; device: DeviceView }) {
  const [state, action] = useActionState(updateDevice, idleState);
  const v = echoed(state);
  return (
    <Subform id="edit-device" title="Edit details" action={action} state={state}>
      <Ids tenant={tenant} id={device.id} />
      <Field id="edit-description" label="Description" state={state} name="description">
        <input id="edit-description" name="description" maxLength={1000} defaultValue={v("description", device.description ?? "")} />
      </Field>
      <Field
        id="edit-tags"
        label="Tags"
        state={state}
        name="tags"
        hint={
          <>
            Comma-separated; letters, digits and <code>_ . : = -</code>.
          </>
        }
      >
        <input id="edit-tags" name="tags" defaultValue={v("tags", device.tags.join(", "))} aria-describedby="edit-tags-hint" />
      </Field>
      <OtherErrors state={state} known={["description", "tags"]} />
      <SubmitButton pendingText="Saving…">Save changes</SubmitButton>
    </Subform>
  );
}

/** A form acting on the whole device, its outcome announced above it. */
function DeviceActionForm({ tenant, device, run, children }: { tenant: string; device: DeviceView; run: (prev: ActionState, form: FormData) => Promise<ActionState>; children: ReactNode }) {
  const [state, action] = useActionState(run, idleState);
  return (
    <form action={action}>
      <div aria-live="polite">
        <ActionMessage state={state} />
      </div>
      <Ids tenant={tenant} id={device.id} />
      {children}
    </form>
  );
}

export function EnableDeviceForm({ tenant, device }: { tenant: string; device: DeviceView }) {
  return (
    <DeviceActionForm tenant={tenant} device={device} run={setDeviceEnabled}>
      <input type="hidden" name="enabled" value={device.enabled ? "false" : "true"} />
      <p className="small muted">
        {device.enabled
          ? "The device may connect with any of its active credentials or certificates. Disabling it closes its connections at once."
          : "The device is disabled: the broker refuses it whatever credential it presents."}
      </p>
      <SubmitButton className={device.enabled ? "danger" : "primary"} pendingText={device.enabled ? "Disabling…" : "Enabling…"}>
        {device.enabled ? "Disable device" : "Enable device"}
      </SubmitButton>
    </DeviceActionForm>
  );
}

export function DeleteDeviceForm({ tenant, device }: { tenant: string; device: DeviceView }) {
  return (
    <DeviceActionForm tenant={tenant} device={device} run={deleteDevice}>
      <input type="hidden" name="clientId" value={device.clientId} />
      <input type="hidden" name="returnToList" value="1" />
      <p className="small muted">Deleting removes the device with its credentials, certificates, group memberships and role bindings, and disconnects it. This cannot be undone.</p>
      <ConfirmSubmit className="danger" question={`Delete the device ${device.clientId}? Its credentials and certificates are deleted with it. This cannot be undone.`}>
        Delete device
      </ConfirmSubmit>
    </DeviceActionForm>
  );
}

function RemoveFromGroup({ tenant, deviceId, group }: { tenant: string; deviceId: string; group: Pick<Group, "id" | "name"> }) {
  const notify = useNotify();
  const [, action] = useActionState(withNotice(notify, removeFromGroup), idleState);
  return (
    <form action={action}>
      <Ids tenant={tenant} id={deviceId} />
      <input type="hidden" name="groupId" value={group.id} />
      <SubmitButton className="small">
        Remove<span className="sr-only"> from {group.name}</span>
      </SubmitButton>
    </form>
  );
}

function AddToGroup({ tenant, deviceId, candidates }: { tenant: string; deviceId: string; candidates: Pick<Group, "id" | "name">[] }) {
  const notify = useNotify();
  const [, action] = useActionState(withNotice(notify, addToGroup), idleState);
  return (
    <form action={action} className="inline-form">
      <Ids tenant={tenant} id={deviceId} />
      <div className="field">
        <label htmlFor="add-group">Choose a group</label>
        <select id="add-group" name="groupId" required defaultValue="">
          <option value="" disabled>
            Choose a group…
          </option>
          {candidates.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </select>
      </div>
      <SubmitButton className="primary" pendingText="Adding…">
        Add to group
      </SubmitButton>
    </form>
  );
}

export function GroupsPanel({ tenant, deviceId, member, others, canEdit }: { tenant: string; deviceId: string; member: Pick<Group, "id" | "name" | "description">[]; others: Pick<Group, "id" | "name">[]; canEdit: boolean }) {
  return (
    <Notices>
      {member.length === 0 ? (
        <p className="muted small">This device is in no group. Groups let one role binding cover many devices.</p>
      ) : (
        <ul className="plain-list">
          {member.map((g) => (
            <li key={g.id} className="row">
              <Link href={`/t/${tenant}/devices?groupId=${g.id}`}>{g.name}</Link>
              {g.description ? <span className="muted small">{g.description}</span> : null}
              <span className="spacer" />
              {canEdit ? <RemoveFromGroup tenant={tenant} deviceId={deviceId} group={g} /> : null}
            </li>
          ))}
        </ul>
      )}
      {canEdit ? (
        others.length > 0 ? (
          <AddToGroup tenant={tenant} deviceId={deviceId} candidates={others} />
        ) : (
          <p className="small muted">
            {member.length === 0 ? "No groups exist yet: " : "The device is in every group; "}
            <Link href={`/t/${tenant}/settings#groups`}>{member.length === 0 ? "create groups in Settings" : "create more in Settings"}</Link>.
          </p>
        )
      ) : null}
    </Notices>
  );
}
