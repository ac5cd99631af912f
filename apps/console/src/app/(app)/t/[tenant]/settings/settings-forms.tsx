"use client";
/** Forms of the tenant settings page: name, members, groups, API keys and certificate authorities. */
import { useActionState, useId, useState } from "react";
import { ActionMessage, ConfirmSubmit, SubmitButton, useResetOnSuccess } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import type { ApiKey, Group, Membership } from "@/lib/types.ts";
import { echoed, FieldErrors, LocalDateTimeInput, OnceSecret, OtherErrors } from "@/components/parts/client.tsx";
import { useNotify, withNotice } from "@/components/parts/notices.tsx";
import { ROLES } from "./roles.ts";
import { addMember, changeMemberRole, createApiKey, createAuthority, createGroup, deleteGroup, removeMember, renameTenant, revokeApiKey, revokeAuthority } from "./actions.ts";


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
    <form className="subform" action={action} ref={ref} aria-labelledby="add-member">
      <h3 id="add-member">Add a member</h3>
      <div aria-live="polite">
        <ActionMessage state={state} />
      </div>
      <Tenant tenant={tenant} />
      <div className="grid-2">
        <div className="field">
          <label htmlFor="member-issuer">Issuer</label>
          <input id="member-issuer" name="issuer" required list={listId} defaultValue={v("issuer", issuers[0] ?? "")} aria-describedby="member-issuer-hint" />
          <datalist id={listId}>
            {issuers.map((i) => (
              <option key={i} value={i} />
            ))}
          </datalist>
          <div className="hint" id="member-issuer-hint">
            The identity provider: the Keycloak realm URL, or <code>local</code> for local accounts.
          </div>
          <FieldErrors state={state} name="issuer" />
        </div>
        <div className="field">
          <label htmlFor="member-subject">Subject</label>
          <input id="member-subject" name="subject" defaultValue={v("subject")} required maxLength={255} autoComplete="off" aria-describedby="member-subject-hint" />
          <div className="hint" id="member-subject-hint">
            The user&apos;s <code>sub</code> claim (their user ID in Keycloak).
          </div>
          <FieldErrors state={state} name="subject" />
        </div>
        <div className="field">
          <label htmlFor="member-email">Email (optional)</label>
          <input id="member-email" name="email" defaultValue={v("email")} type="email" autoComplete="off" />
          <FieldErrors state={state} name="email" />
        </div>
        <div className="field">
          <label htmlFor="member-role">Role</label>
          {/* keyed: React does not re-apply a select's defaultValue, and the form resets after a failed action too */}
          <select id="member-role" name="role" key={v("role", "tenant_viewer")} defaultValue={v("role", "tenant_viewer")}>
            {ROLES.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
          <FieldErrors state={state} name="role" />
        </div>
      </div>
      <OtherErrors state={state} known={["issuer", "subject", "email", "role"]} />
      <SubmitButton pendingText="Adding…">Add member</SubmitButton>
    </form>
  );
}

export function MemberActions({ tenant, member, label }: { tenant: string; member: Pick<Membership, "userId" | "role">; label: string }) {
  const notify = useNotify();
  const [, change] = useActionState(withNotice(notify, changeMemberRole), idleState);
  const [, remove] = useActionState(withNotice(notify, removeMember), idleState);
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
          {ROLES.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
        <SubmitButton className="small">
          Change role<span className="sr-only"> of {label}</span>
        </SubmitButton>
      </form>
      <form action={remove}>
        <Tenant tenant={tenant} />
        <input type="hidden" name="userId" value={member.userId} />
        <ConfirmSubmit question={`Remove ${label} from this tenant? Roles their identity provider groups give them still apply.`}>
          Remove<span className="sr-only"> {label}</span>
        </ConfirmSubmit>
      </form>
    </div>
  );
}

// ---- groups -----------------------------------------------------------------------------

export function CreateGroupForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createGroup, idleState);
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <form className="subform" action={action} ref={ref} aria-labelledby="create-group">
      <h3 id="create-group">Create a group</h3>
      <div aria-live="polite">
        <ActionMessage state={state} />
      </div>
      <Tenant tenant={tenant} />
      <div className="grid-2">
        <div className="field">
          <label htmlFor="group-name">Group name</label>
          <input id="group-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="floor-2" />
          <FieldErrors state={state} name="name" />
        </div>
        <div className="field">
          <label htmlFor="group-description">Group description</label>
          <input id="group-description" name="description" defaultValue={v("description")} maxLength={1000} />
          <FieldErrors state={state} name="description" />
        </div>
      </div>
      <OtherErrors state={state} known={["name", "description"]} />
      <SubmitButton pendingText="Creating…">Create group</SubmitButton>
    </form>
  );
}

export function DeleteGroupButton({ tenant, group }: { tenant: string; group: Pick<Group, "id" | "name" | "memberCount"> }) {
  const notify = useNotify();
  const [, action] = useActionState(withNotice(notify, deleteGroup), idleState);
  return (
    <form action={action}>
      <Tenant tenant={tenant} />
      <input type="hidden" name="groupId" value={group.id} />
      <ConfirmSubmit question={`Delete the group ${group.name}? Its ${group.memberCount} device(s) stay, but role bindings to the group are removed.`}>
        Delete<span className="sr-only"> group {group.name}</span>
      </ConfirmSubmit>
    </form>
  );
}

// ---- API keys --------------------------------------------------------------------------------

export function CreateApiKeyForm({ tenant, roles }: { tenant: string; roles: Membership["role"][] }) {
  const [state, action] = useActionState(createApiKey, idleState);
  const ref = useResetOnSuccess(state);
  const [dismissedAt, setDismissedAt] = useState<number | undefined>(undefined);
  const created = state.ok && state.at !== dismissedAt ? (state as { data?: ApiKey & { key: string } }).data : undefined;
  const v = echoed(state);
  return (
    <form className="subform" action={action} ref={ref} aria-labelledby="create-api-key">
      <h3 id="create-api-key">Create an API key</h3>
      <div aria-live="polite">
        <ActionMessage state={state} />
      </div>
      {created ? (
        <div className="stack-tight">
          <OnceSecret label="API key" value={created.key} copyLabel="Copy API key">
            This key is shown only once. Copy it now: only its prefix <code>{created.prefix}</code> is kept.
          </OnceSecret>
          <p className="small muted">
            Scripts send it to the admin API as <code>Authorization: Bearer {created.prefix}…</code>.
          </p>
          <button type="button" onClick={() => setDismissedAt(state.at)}>
            I have saved the key
          </button>
        </div>
      ) : null}
      <Tenant tenant={tenant} />
      <div className="grid-3">
        <div className="field">
          <label htmlFor="key-name">Key name</label>
          <input id="key-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="provisioning-script" />
          <FieldErrors state={state} name="name" />
        </div>
        <div className="field">
          <label htmlFor="key-role">Key role</label>
          <select id="key-role" name="role" key={v("role")} defaultValue={v("role", roles.includes("tenant_operator") ? "tenant_operator" : (roles[0] ?? ""))}>
            {ROLES.filter(([v]) => roles.includes(v)).map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
          <FieldErrors state={state} name="role" />
        </div>
        <div>
          <LocalDateTimeInput name="expiresAt" label="Key expires at (optional)" hint="Your local time; empty: never." resetKey={state.ok ? state.at : undefined} />
          <FieldErrors state={state} name="expiresAt" />
        </div>
      </div>
      <OtherErrors state={state} known={["name", "role", "expiresAt"]} />
      <SubmitButton pendingText="Creating…">Create API key</SubmitButton>
    </form>
  );
}

export function RevokeApiKeyButton({ tenant, apiKey }: { tenant: string; apiKey: Pick<ApiKey, "id" | "name"> }) {
  const notify = useNotify();
  const [, action] = useActionState(withNotice(notify, revokeApiKey), idleState);
  return (
    <form action={action}>
      <Tenant tenant={tenant} />
      <input type="hidden" name="keyId" value={apiKey.id} />
      <ConfirmSubmit question={`Revoke the API key ${apiKey.name}? Scripts using it stop working at once.`}>
        Revoke<span className="sr-only"> API key {apiKey.name}</span>
      </ConfirmSubmit>
    </form>
  );
}

// ---- certificate authorities ------------------------------------------------------------------

export function CreateAuthorityForm({ tenant }: { tenant: string }) {
  const [state, action] = useActionState(createAuthority, idleState);
  const ref = useResetOnSuccess(state);
  const v = echoed(state);
  return (
    <form className="subform" action={action} ref={ref} aria-labelledby="create-ca">
      <h3 id="create-ca">Create a certificate authority</h3>
      <div aria-live="polite">
        <ActionMessage state={state} />
      </div>
      <Tenant tenant={tenant} />
      <div className="grid-2">
        <div className="field">
          <label htmlFor="ca-name">CA name</label>
          <input id="ca-name" name="name" defaultValue={v("name")} required maxLength={200} placeholder="Acme devices 2026" />
          <FieldErrors state={state} name="name" />
        </div>
        <div className="field">
          <label htmlFor="ca-days">CA validity (days)</label>
          <input id="ca-days" name="validityDays" type="number" min={1} max={7300} defaultValue={v("validityDays", "3650")} required />
          <FieldErrors state={state} name="validityDays" />
        </div>
      </div>
      <OtherErrors state={state} known={["name", "validityDays"]} />
      <p className="small muted">The CA&apos;s private key is generated and sealed in the broker; it never leaves it.</p>
      <SubmitButton pendingText="Creating…">Create CA</SubmitButton>
    </form>
  );
}

export function RevokeAuthorityButton({ tenant, authority }: { tenant: string; authority: { id: string; name: string } }) {
  const notify = useNotify();
  const [, action] = useActionState(withNotice(notify, revokeAuthority), idleState);
  return (
    <form action={action}>
      <Tenant tenant={tenant} />
      <input type="hidden" name="authorityId" value={authority.id} />
      <ConfirmSubmit question={`Revoke the certificate authority ${authority.name}? It signs no more certificates and every device certificate it issued stops working. This cannot be undone.`}>
        Revoke<span className="sr-only"> CA {authority.name}</span>
      </ConfirmSubmit>
    </form>
  );
}
