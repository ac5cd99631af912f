import "server-only";
import { cache } from "react";
import { api, can, me, type TenantRole } from "./api.ts";
import type { Tenant } from "./types.ts";

/** The tenant of the current route, loaded once per request. */
export const loadTenant = cache((slug: string) => api<Tenant>(`/api/v1/tenants/${encodeURIComponent(slug)}`));

/** `/api/v1/tenants/<slug><rest>` */
export function tenantApi(slug: string, rest = ""): string {
  return `/api/v1/tenants/${encodeURIComponent(slug)}${rest}`;
}

/** Whether the signed-in user holds at least `role` in the tenant: pages hide what the API would refuse. */
export async function allowed(slug: string, role: TenantRole): Promise<boolean> {
  return can(await me(), slug, role);
}
