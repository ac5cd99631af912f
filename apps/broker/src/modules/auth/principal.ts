import type { TenantRole } from "@halyard/api-contract";

/** Who is calling the admin API, resolved once per request by the AuthGuard. */
export interface Principal {
  kind: "user" | "client" | "apikey";
  /** Stable audit identity: "user:<id>", "client:<sub>", "apikey:<id>". */
  actor: string;
  subject: string;
  displayName: string | null;
  platformAdmin: boolean;
  /** Tenant slug -> role. */
  tenantRoles: Map<string, TenantRole>;
}

const RANK: Record<TenantRole, number> = { tenant_viewer: 1, tenant_operator: 2, tenant_admin: 3 };

/** Whether the principal holds at least `minimum` in the tenant (platform admins hold every role). */
export function hasTenantRole(principal: Principal, slug: string, minimum: TenantRole): boolean {
  if (principal.platformAdmin) return true;
  const role = principal.tenantRoles.get(slug);
  return role !== undefined && RANK[role] >= RANK[minimum];
}

export function canSeeTenant(principal: Principal, slug: string): boolean {
  return principal.platformAdmin || principal.tenantRoles.has(slug);
}
