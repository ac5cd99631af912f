"use server";
/**
 * Server actions of the tenant settings page. The API enforces the roles
 * (members, API keys and CAs: tenant admins; groups: operators); the page
 * only offers what the user's role allows.
 */
import { revalidatePath } from "next/cache";
import { api } from "@/lib/api.ts";
import { optional, runAction, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";
import { echo, type EchoState } from "@/components/parts/echo.ts";
import type { ApiKey, Authority, Group, Membership, Tenant } from "@/lib/types.ts";

type CreatedApiKey = ApiKey & { key: string };

function enc(s: string): string {
  return encodeURIComponent(s);
}

function done(tenant: string) {
  revalidatePath(`/t/${tenant}/settings`);
}

export async function renameTenant(_prev: ActionState, form: FormData): Promise<EchoState<Tenant>> {
  const tenant = str(form, "tenant");
  const r = await runAction(() => api<Tenant>(tenantApi(tenant), { method: "PATCH", body: { name: str(form, "name") } }), "Tenant renamed.");
  if (r.ok) {
    done(tenant);
    revalidatePath(`/t/${tenant}`, "layout"); // the name shows on other pages too
  }
  return echo(r, form, ["name"]);
}

// ---- members ---------------------------------------------------------------------

export async function addMember(_prev: ActionState, form: FormData): Promise<EchoState<Membership>> {
  const tenant = str(form, "tenant");
  const body: Record<string, unknown> = { issuer: str(form, "issuer"), subject: str(form, "subject"), role: str(form, "role") };
  const email = optional(form, "email");
  if (email !== undefined) body.email = email;
  const r = await runAction(() => api<Membership>(tenantApi(tenant, "/members"), { method: "POST", body }), "Member added.");
  if (r.ok) done(tenant);
  return echo(r, form, ["issuer", "subject", "email", "role"]);
}

export async function changeMemberRole(_prev: ActionState, form: FormData): Promise<ActionState<Membership>> {
  const tenant = str(form, "tenant");
  const userId = str(form, "userId");
  const r = await runAction(() => api<Membership>(tenantApi(tenant, `/members/${enc(userId)}`), { method: "PATCH", body: { role: str(form, "role") } }), "Role changed.");
  if (r.ok) done(tenant);
  return r;
}

export async function removeMember(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const userId = str(form, "userId");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/members/${enc(userId)}`), { method: "DELETE" }), "Member removed.");
  if (r.ok) done(tenant);
  return r;
}

// ---- groups ----------------------------------------------------------------------

export async function createGroup(_prev: ActionState, form: FormData): Promise<EchoState<Group>> {
  const tenant = str(form, "tenant");
  const body: Record<string, unknown> = { name: str(form, "name") };
  const description = optional(form, "description");
  if (description !== undefined) body.description = description;
  const r = await runAction(() => api<Group>(tenantApi(tenant, "/groups"), { method: "POST", body }), "Group created.");
  if (r.ok) {
    done(tenant);
    revalidatePath(`/t/${tenant}/devices`);
  }
  return echo(r, form, ["name", "description"]);
}

export async function deleteGroup(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "groupId");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/groups/${enc(id)}`), { method: "DELETE" }), "Group deleted.");
  if (r.ok) {
    done(tenant);
    revalidatePath(`/t/${tenant}/devices`);
  }
  return r;
}

// ---- API keys ------------------------------------------------------------------------

export async function createApiKey(_prev: ActionState, form: FormData): Promise<EchoState<CreatedApiKey>> {
  const tenant = str(form, "tenant");
  const body: Record<string, unknown> = { name: str(form, "name"), role: str(form, "role") };
  const expiresAt = optional(form, "expiresAt");
  if (expiresAt !== undefined) body.expiresAt = expiresAt;
  const r = await runAction(() => api<CreatedApiKey>(tenantApi(tenant, "/api-keys"), { method: "POST", body }), "API key created.");
  if (r.ok) done(tenant);
  return echo(r, form, ["name", "role"]);
}

export async function revokeApiKey(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "keyId");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/api-keys/${enc(id)}`), { method: "DELETE" }), "API key revoked: it no longer works.");
  if (r.ok) done(tenant);
  return r;
}

// ---- certificate authorities ---------------------------------------------------------------

export async function createAuthority(_prev: ActionState, form: FormData): Promise<EchoState<Authority>> {
  const tenant = str(form, "tenant");
  const body: Record<string, unknown> = { name: str(form, "name") };
  const days = optional(form, "validityDays");
  if (days !== undefined) body.validityDays = Number(days);
  const r = await runAction(() => api<Authority>(tenantApi(tenant, "/authorities"), { method: "POST", body }), "Certificate authority created.");
  if (r.ok) done(tenant);
  return echo(r, form, ["name", "validityDays"]);
}

export async function revokeAuthority(_prev: ActionState, form: FormData): Promise<ActionState<Authority>> {
  const tenant = str(form, "tenant");
  const id = str(form, "authorityId");
  const r = await runAction(
    () => api<Authority>(tenantApi(tenant, `/authorities/${enc(id)}/revoke`), { method: "POST" }),
    "Certificate authority revoked: it signs no more certificates and devices holding its certificates can no longer connect.",
  );
  if (r.ok) done(tenant);
  return r;
}
