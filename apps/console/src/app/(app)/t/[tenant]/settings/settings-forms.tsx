"use client";
/** Forms of the tenant settings page: name, members, groups, API keys and certificate authorities. */
import { useActionState, useId } from "react";
import { ActionMessage, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import type { ApiKey, Group, Membership } from "@/lib/types.ts";
import { echoed, Field, FieldErrors, LocalDateTimeInput, OnceSecret, OtherErrors, Subform, useShownOnce } from "@/components/parts/client.tsx";
import { ConfirmForm } from "@/components/parts/confirm-form.tsx";
import { useNotify, withNotice } from "@/components/parts/notices.tsx";
import { ROLES } from "./roles.ts";
import { addMember, changeMemberRole, createApiKey, createAuthority, createGroup, deleteGroup, removeMember, renameTenant, revokeApiKey, revokeAuthority } from "./actions.ts";

function RoleOptions({ roles }: { roles?: Membership["role"][] }) {
  return ROLES.filter(([v]) => !roles || roles.includes(v)).map(([v, l]) => (
    <option key={v} value={v}>
      {l}
    </option>
  ));
}

function Tenant({ tenant }: { tenant: string }) {
  return <input type="hidden" name="tenant" value={tenant} />;
}

// ---- tenant -----------------------------------------------------------------------

export function RenameTenantForm({ tenant, name }: { tenant: string; name: string }) {
  const [state, action] = useActionState(renameTenant, idleState);
  const v = echoed(state);
  return (
    <form action={action} className="inline-form">
      <Tenant tenant={tenant} />
      <div className="field grow">
        <label htmlFor="tenant-name">Tenant name</label>
        <input id="tenant-name" name="name" required maxLength={200} defaultValue={v("name", name)} />
        <FieldErrors state={state} name="name" />
      </div>
      <SubmitButton pendingText="Saving…">Save name</SubmitButton>
      <div className="full-row" aria-live="polite">
        <ActionMessage state={state} />
      </div>
    </form>
  );
}

// ---- members ------------------------------------------------------------------------

export function AddMemberForm({ tenant, issuers }: { tenant: string; issuers: string[] }) {
  const [state, action] = useActionState(addMember, idleState);
  const ref = useResetOnSuccess(state);
  const listId = useId();
  const v = echoed(state);
  return (
    <Subform id="add-member" title="Add a member" action={action} formRef={ref} state={state}>
      <Tenant tenant={tenant} />
      <div className="grid-2">
        <Field id="member-issuer" label="Issuer" state={state} name="issuer" hint={<>The identity provider: the Keycloak realm URL, or <code>local</code> for local accounts.</>}>
          <input id="member-issuer" name="issuer" required list={listId} defaultValue={v("issuer", issuers[0] ?? "")} aria-describedby="member-issuer-hint" />
          <datalist id={listId}>
            {issuers.map((i) => (
              <option key={i} value={i} />
            ))}
          </datalist>
        </Field>
        <Field id="member-subject" label="Subject" state={state} name="subject" hint={<>The user&apos;s <code>sub</code> claim (their user ID in Keycloak).</>}>
          <input id="member-subject" name="subject" defaultValue={v("subject")} required maxLength={255} autoComplete="off" aria-describedby="member-subject-hint" />
        </Field>
        <Field id="member-email" label="Email (optional)" state={state} name="email">
          <input id="member-email" name="email" defaultValue={v("email")} type="email" autoComplete="off" />
        </Field>
        <Field id="member-role" label="Role" state={state} name="role">
          {/* keyed: React does not re-apply a select's defaultValue, and the form resets after a failed action too */}
          <select id="member-role" name="role" key={v("role", "tenant_viewer")} defaultValue={v("role", "tenant_viewer")}>
            <RoleOptions />
          </select>
        </Field>
      </div>
      <OtherErrors state={state} known={["issuer", "subject", "email", "role"]} />
      <SubmitButton pendingText="Adding…">Add member</SubmitButton>
    </Subform>
  );
}

export function MemberActions({ tenant, member, label }: { tenant: string; member: Pick<Membership, "userId" | "role">; label: string }) {
  const notify = useNotify();
  const [, change] = useActionState(withNotice(notify, changeMemberRole), idleState);
  const selectId = `role-${member.userId}`;
  return (
    <div className="row nowrap">
      <form action={change} className="row nowrap">
        <Tenant tenant={tenant} />
        <input type="hidden" name="userId" value={member.userId} />
        <label htmlFor={selectId} className="sr-only">
          Role of {label}
        </label>
        <select id={selectId} name="role" defaultValue={member.role} className="compact">
          <RoleOptions />
        </select>
        <SubmitButton className="small">
          Change role<span className="sr-only"> of {label}</span>
        </SubmitButton>
      </form>
      <ConfirmForm notice action={removeMember} fields={{ tenant, userId: member.userId }} question={`Remove ${label} from this tenant? Roles their identity provider groups give them still apply.`}>
        Remove<span className="sr-only"> {label}</span>
      </ConfirmForm>
    </div>
  );
}

// ---- groups -----------------------------------------------------------------------------

export function CreateGroupForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createGroup, idleState);
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <Subform id="create-group" title="Create a group" action={action} formRef={ref} state={state}>
      <Tenant tenant={tenant} />
      <div className="grid-2">
        <Field id="group-name" label="Group name" state={state} name="name">
          <input id="group-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="floor-2" />
        </Field>
        <Field id="group-description" label="Group description" state={state} name="description">
          <input id="group-description" name="description" defaultValue={v("description")} maxLength={1000} />
        </Field>
      </div>
      <OtherErrors state={state} known={["name", "description"]} />
      <SubmitButton pendingText="Creating…">Create group</SubmitButton>
    </Subform>
  );
}

export function DeleteGroupButton({ tenant, group }: { tenant: string; group: Pick<Group, "id" | "name" | "memberCount"> }) {
  return (
    <ConfirmForm notice action={deleteGroup} fields={{ tenant, groupId: group.id }} question={`Delete the group ${group.name}? Its ${group.memberCount} device(s) stay, but role bindings to the group are removed.`}>
      Delete<span className="sr-only"> group {group.name}</span>
    </ConfirmForm>
  );
}

// ---- API keys --------------------------------------------------------------------------------

export function CreateApiKeyForm({ tenant, roles }: { tenant: string; roles: Membership["role"][] }) {
  const [state, action] = useActionState(createApiKey, idleState);
  const ref = useResetOnSuccess(state);
  const [created, dismiss] = useShownOnce(state as typeof state & { data?: ApiKey & { key: string } });
  const v = echoed(state);
  return (
    <Subform id="create-api-key" title="Create an API key" action={action} formRef={ref} state={state}>
      {created ? (
        <div className="stack-tight">
          <OnceSecret label="API key" value={created.key} copyLabel="Copy API key">
            This key is shown only once. Copy it now: only its prefix <code>{created.prefix}</code> is kept.
          </OnceSecret>
          <p className="small muted">
            Scripts send it to the admin API as <code>Authorization: Bearer {created.prefix}…</code>.
          </p>
          <button type="button" onClick={dismiss}>
            I have saved the key
          </button>
        </div>
      ) : null}
      <Tenant tenant={tenant} />
      <div className="grid-3">
        <Field id="key-name" label="Key name" state={state} name="name">
          <input id="key-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="provisioning-script" />
        </Field>
        <Field id="key-role" label="Key role" state={state} name="role">
          <select id="key-role" name="role" key={v("role")} defaultValue={v("role", roles.includes("tenant_operator") ? "tenant_operator" : (roles[0] ?? ""))}>
            <RoleOptions roles={roles} />
          </select>
        </Field>
        <div>
          <LocalDateTimeInput name="expiresAt" label="Key expires at (optional)" hint="Your local time; empty: never." resetKey={state.ok ? state.at : undefined} />
          <FieldErrors state={state} name="expiresAt" />
        </div>
      </div>
      <OtherErrors state={state} known={["name", "role", "expiresAt"]} />
      <SubmitButton pendingText="Creating…">Create API key</SubmitButton>
    </Subform>
  );
}

export function RevokeApiKeyButton({ tenant, apiKey }: { tenant: string; apiKey: Pick<ApiKey, "id" | "name"> }) {
  return (
    <ConfirmForm notice action={revokeApiKey} fields={{ tenant, keyId: apiKey.id }} question={`Revoke the API key ${apiKey.name}? Scripts using it stop working at once.`}>
      Revoke<span className="sr-only"> API key {apiKey.name}</span>
    </ConfirmForm>
  );
}

// ---- certificate authorities ------------------------------------------------------------------

export function CreateAuthorityForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createAuthority, idleState);
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <Subform id="create-ca" title="Create a certificate authority" action={action} formRef={ref} state={state}>
      <Tenant tenant={tenant} />
      <div className="grid-2">
        <Field id="ca-name" label="CA name" state={state} name="name">
          <input id="ca-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="Acme devices 2026" />
        </Field>
        <Field id="ca-days" label="CA validity (days)" state={state} name="validityDays">
          <input id="ca-days" name="validityDays" type="number" min={1} max={7300} defaultValue={v("validityDays", "3650")} required />
        </Field>
      </div>
      <OtherErrors state={state} known={["name", "validityDays"]} />
      <p className="small muted">The CA&apos;s private key is generated and sealed in the broker; it never leaves it.</p>
      <SubmitButton pendingText="Creating…">Create CA</SubmitButton>
    </Subform>
  );
}

export function RevokeAuthorityButton({ tenant, authority }: { tenant: string; authority: { id: string; name: string } }) {
  return (
    <ConfirmForm notice action={revokeAuthority} fields={{ tenant, authorityId: authority.id }} question={`Revoke the certificate authority ${authority.name}? It signs no more certificates and every device certificate it issued stops working. This cannot be undone.`}>
      Revoke<span className="sr-only"> CA {authority.name}</span>
    </ConfirmForm>
  );
}
