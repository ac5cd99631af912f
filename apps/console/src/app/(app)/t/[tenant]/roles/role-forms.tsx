"use client";
import { useActionState } from "react";
import { ActionMessage, ConfirmSubmit, FieldError, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import { ConfirmForm } from "@/components/parts/confirm-form.tsx";
import { createBinding, createRole, deleteBinding, deleteRole } from "./actions.ts";

/** Small forms of the roles pages: create and delete a role, add and remove bindings. */

export function CreateRoleForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createRole, idleState);
  return (
    <form action={action} className="card" aria-labelledby="create-role">
      <h2 id="create-role">Create a role</h2>
      <ActionMessage state={state} />
      <input type="hidden" name="tenant" value={tenant} />
      <div className="grid-2">
        <div className="field">
          <label htmlFor="role-name">Role name</label>
          <input
            id="role-name"
            name="name"
            required
            maxLength={200}
            placeholder="sensor"
            aria-invalid={state.fieldErrors?.name ? true : undefined}
            aria-describedby={state.fieldErrors?.name ? "name-error" : undefined}
          />
          <FieldError state={state} name="name" />
        </div>
        <div className="field">
          <label htmlFor="role-template">Start from</label>
          <select id="role-template" name="template" defaultValue="empty" aria-describedby="role-template-hint">
            <option value="empty">No rules</option>
            <option value="own">Own topics: devices/{"${clientid}"}/#</option>
            <option value="telemetry">Telemetry out, commands in</option>
            <option value="readonly">Read everything (subscribe #)</option>
          </select>
          <div className="hint" id="role-template-hint">
            You can change every rule after creating the role.
          </div>
        </div>
      </div>
      <div className="field">
        <label htmlFor="role-description">Description (optional)</label>
        <input id="role-description" name="description" maxLength={1000} placeholder="What devices with this role may do" />
        <FieldError state={state} name="description" />
      </div>
      <SubmitButton pendingText="Creating…">Create role</SubmitButton>
    </form>
  );
}

export function DeleteRoleForm({ tenant, roleId, name, bindings }: { tenant: string; roleId: string; name: string; bindings: number }) {
  const [state, action] = useActionState(deleteRole, idleState);
  const effect = bindings > 0 ? ` Its ${bindings} binding${bindings === 1 ? "" : "s"} will be removed and the devices lose these permissions.` : "";
  return (
    <form action={action} className="stack">
      <ActionMessage state={state} />
      <input type="hidden" name="tenant" value={tenant} />
      <input type="hidden" name="roleId" value={roleId} />
      <div>
        <ConfirmSubmit question={`Delete role '${name}'?${effect}`} className="danger">
          Delete role
        </ConfirmSubmit>
      </div>
    </form>
  );
}

export interface TargetOption {
  id: string;
  label: string;
}

/** "Bind to device" / "Bind to group": a select of targets not bound yet. */
export function BindForm({ tenant, roleId, targetType, options }: { tenant: string; roleId: string; targetType: "device" | "group"; options: TargetOption[] }) {
  const [state, action] = useActionState(createBinding, idleState);
  const ref = useResetOnSuccess(state);
  const id = `bind-${targetType}`;
  const noun = targetType === "device" ? "Device" : "Group";
  return (
    <form action={action} ref={ref} className="inline-form">
      <input type="hidden" name="tenant" value={tenant} />
      <input type="hidden" name="roleId" value={roleId} />
      <input type="hidden" name="targetType" value={targetType} />
      <div className="field grow">
        <label htmlFor={id}>{noun}</label>
        <select
          id={id}
          name="targetId"
          defaultValue=""
          disabled={options.length === 0}
          aria-invalid={state.fieldErrors?.targetId ? true : undefined}
          aria-describedby={state.fieldErrors?.targetId ? `${id}-error` : undefined}
        >
          <option value="">{options.length === 0 ? `No ${noun.toLowerCase()}s to bind` : `Choose a ${noun.toLowerCase()}…`}</option>
          {options.map((o) => (
            <option key={o.id} value={o.id}>
              {o.label}
            </option>
          ))}
        </select>
        {state.fieldErrors?.targetId ? (
          <div className="error" id={`${id}-error`}>
            {state.fieldErrors.targetId}
          </div>
        ) : null}
      </div>
      <SubmitButton className="primary" pendingText="Binding…">
        {targetType === "device" ? "Bind to device" : "Bind to group"}
      </SubmitButton>
      <div className="full-row">
        <ActionMessage state={state} />
      </div>
    </form>
  );
}

export function RemoveBindingForm({ tenant, roleId, bindingId, target }: { tenant: string; roleId: string; bindingId: string; target: string }) {
  return (
    <ConfirmForm action={deleteBinding} fields={{ tenant, roleId, bindingId }} question={`Remove this role from ${target}? It loses the role's permissions at once.`}>
      Remove binding
    </ConfirmForm>
  );
}
