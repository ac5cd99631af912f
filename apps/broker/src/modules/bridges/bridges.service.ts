import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import type { pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { MqttService } from "../../mqtt/mqtt.service.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { BridgesRepository, type Direction } from "./bridges.repository.ts";

type BridgeRow = NonNullable<Awaited<ReturnType<BridgesRepository["find"]>>>;

export function toBridgeDto(b: BridgeRow): z.infer<typeof schemas.bridge> {
  return {
    id: b.id,
    name: b.name,
    remoteUrl: b.remoteUrl,
    // Written only through the zod enum; the column is VARCHAR so the runtime can add directions without a migration.
    direction: b.direction as Direction,
    localFilter: b.localFilter,
    remotePrefix: b.remotePrefix,
    enabled: b.enabled,
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
  };
}

/**
 * Bridge configuration: which local topics flow to or from which remote
 * broker. Links to other brokers carry the tenant's traffic out of the
 * platform, so only tenant admins write them.
 */
@Injectable()
export class BridgesService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(BridgesRepository) private readonly repo: BridgesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
    // MqttService lives in the root module; looked up when needed (see devices/live-clients.ts).
    @Inject(ModuleRef) private readonly refs: ModuleRef,
  ) {}

  async list(p: Principal, slug: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { items, total } = await this.repo.list(this.database.db, tenant.id, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toBridgeDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Bridge");
    return toBridgeDto(row);
  }

  /** The running link's state and counters (mqtt/bridges); "disabled" when none runs. */
  async status(p: Principal, slug: string, id: string): Promise<z.infer<typeof schemas.bridgeStatus>> {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    if (!(await this.repo.find(this.database.db, tenant.id, id))) throw problems.notFound("Bridge");
    return this.refs.get(MqttService, { strict: false }).bridges.status(id);
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createBridge>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx, changes) => {
      if (await this.repo.findByName(tx, tenant.id, body.name)) throw problems.conflict(`A bridge named '${body.name}' exists in tenant '${slug}'.`);
      const row = await this.repo.create(tx, {
        id: randomUUID(),
        tenantId: tenant.id,
        name: body.name,
        remoteUrl: body.remoteUrl,
        direction: body.direction,
        localFilter: body.localFilter,
        remotePrefix: body.remotePrefix ?? null,
        enabled: body.enabled ?? true,
      });
      // The bridge runtime (mqtt/bridges) starts, restarts or stops the link after commit.
      changes.emit({ kind: "bridge", tenantId: tenant.id, id: row.id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "bridge.create", resource: "bridge", resourceId: row.id, after: row });
      return toBridgeDto(row);
    });
  }

  async update(p: Principal, slug: string, id: string, body: z.infer<typeof schemas.updateBridge>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Bridge");
      if (body.name !== undefined && body.name !== before.name && (await this.repo.findByName(tx, tenant.id, body.name))) {
        throw problems.conflict(`A bridge named '${body.name}' exists in tenant '${slug}'.`);
      }
      const row = await this.repo.update(tx, id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.remoteUrl !== undefined ? { remoteUrl: body.remoteUrl } : {}),
        ...(body.direction !== undefined ? { direction: body.direction } : {}),
        ...(body.localFilter !== undefined ? { localFilter: body.localFilter } : {}),
        ...(body.remotePrefix !== undefined ? { remotePrefix: body.remotePrefix } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      });
      changes.emit({ kind: "bridge", tenantId: tenant.id, id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "bridge.update", resource: "bridge", resourceId: id, before, after: row });
      return toBridgeDto(row);
    });
  }

  async delete(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    await this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Bridge");
      await this.repo.delete(tx, id);
      changes.emit({ kind: "bridge", tenantId: tenant.id, id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "bridge.delete", resource: "bridge", resourceId: id, before });
    });
  }
}
