import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { DevicesRepository } from "./devices.repository.ts";

type DeviceRow = NonNullable<Awaited<ReturnType<DevicesRepository["find"]>>>;

export function toDeviceDto(d: DeviceRow): z.infer<typeof schemas.device> {
  return {
    id: d.id,
    clientId: d.clientId,
    description: d.description,
    tags: d.tags,
    enabled: d.enabled,
    groupIds: d.groups.map((g) => g.groupId),
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

@Injectable()
export class DevicesService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(DevicesRepository) private readonly repo: DevicesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, q: z.infer<typeof schemas.deviceListQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { page, pageSize, ...filter } = q;
    const { items, total } = await this.repo.list(this.database.db, tenant.id, filter, (page - 1) * pageSize, pageSize);
    return { items: items.map(toDeviceDto), page, pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Device");
    return toDeviceDto(row);
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createDevice>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx) => {
      if (await this.repo.findByClientId(tx, tenant.id, body.clientId)) {
        throw problems.conflict(`A device with client id '${body.clientId}' exists in tenant '${slug}'.`);
      }
      const row = await this.repo.create(tx, {
        id: randomUUID(),
        tenantId: tenant.id,
        clientId: body.clientId,
        description: body.description ?? null,
        tags: [...new Set(body.tags ?? [])],
        enabled: body.enabled ?? true,
      });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "device.create", resource: "device", resourceId: row.id, after: row });
      return toDeviceDto(row);
    });
  }

  async update(p: Principal, slug: string, id: string, body: z.infer<typeof schemas.updateDevice>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Device");
      changes.emit({ kind: "device", tenantId: tenant.id, id });
      const row = await this.repo.update(tx, id, {
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.tags !== undefined ? { tags: [...new Set(body.tags)] } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "device.update", resource: "device", resourceId: id, before, after: row });
      return toDeviceDto(row);
    });
  }

  /** Removes the device (its credentials, certificates and group memberships cascade) and the role bindings that targeted it. */
  async delete(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    await this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Device");
      changes.emit({ kind: "device", tenantId: tenant.id, id });
      const { bindings } = await this.repo.delete(tx, tenant.id, id);
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "device.delete", resource: "device", resourceId: id, before: { ...before, bindings } });
    });
  }
}
