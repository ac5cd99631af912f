import type { TenantRole } from "@/lib/api.ts";

/** Tenant roles in rising order of power, with the names the console shows. */
export const ROLES: [TenantRole, string][] = [
  ["tenant_viewer", "Viewer"],
  ["tenant_operator", "Operator"],
  ["tenant_admin", "Admin"],
];

export const roleLabel = new Map(ROLES);

/** The roles up to and including `own` (an API key can hold at most its creator's role). */
export function rolesUpTo(own: TenantRole | undefined): TenantRole[] {
  const i = ROLES.findIndex(([r]) => r === own);
  return ROLES.slice(0, i + 1).map(([r]) => r);
}
