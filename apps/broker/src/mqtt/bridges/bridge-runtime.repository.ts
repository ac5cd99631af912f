import type { Db } from "../../modules/database/database.service.ts";

/** The bridge runtime's read side of the control plane: bridges with their tenant's slug and status. */
export class BridgeRuntimeRepository {
  /** Every bridge of the tenant (enabled or not), with the tenant; an empty list when the tenant is gone. */
  ofTenant(db: Db, tenantId: string) {
    return db.bridge.findMany({ where: { tenantId }, include: { tenant: { select: { slug: true, status: true } } }, orderBy: { name: "asc" } });
  }

  /** Tenants that have at least one enabled bridge (start-up). */
  async tenantsWithBridges(db: Db): Promise<string[]> {
    const rows = await db.bridge.findMany({ where: { enabled: true }, select: { tenantId: true }, distinct: ["tenantId"] });
    return rows.map((r) => r.tenantId);
  }
}
