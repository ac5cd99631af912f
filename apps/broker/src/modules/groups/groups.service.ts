import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService, type Db } from "../database/database.service.ts";
import { DevicesRepository } from "../devices/devices.repository.ts";
import { requireDevice } from "../devices/require-device.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { GroupsRepository } from "./groups.repository.ts";

type GroupRow = NonNullable<Awaited<ReturnType<GroupsRepository["find"]>>>;

export function toGroupDto(g: GroupRow): z.infer<typeof schemas.group> {
  return { id: g.id, name: g.name, description: g.description, memberCount: g._count.members, createdAt: g.createdAt.toISOString() };
}

/** Audit state of a group: the row without Prisma's `_count` wrapper. */
function auditState(g: GroupRow) {
  const { _count, ...row } = g;
  return { ...row, memberCount: _count.members };
}

/**
 * Device groups. Membership lives in the join table; the devices of a group
 * are listed through the devices list (`?groupId=`), so there is one way to
 * page and filter devices. Reads need viewer, changes operator.
 */
@Injectable()
export class GroupsService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(GroupsRepository) private readonly repo: GroupsRepository,
    @Inject(DevicesRepository) private readonly devices: DevicesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { items, total } = await this.repo.list(this.database.db, tenant.id, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toGroupDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Group");
    return toGroupDto(row);
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createGroup>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx) => {
      if (await this.repo.findByName(tx, tenant.id, body.name)) throw problems.conflict(`A group named '${body.name}' exists in tenant '${slug}'.`);
      const row = await this.repo.create(tx, { id: randomUUID(), tenantId: tenant.id, name: body.name, description: body.description ?? null });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "group.create", resource: "group", resourceId: row.id, after: auditState(row) });
      return toGroupDto(row);
    });
  }

  async update(p: Principal, slug: string, id: string, body: z.infer<typeof schemas.updateGroup>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Group");
      if (body.name !== undefined && body.name !== before.name && (await this.repo.findByName(tx, tenant.id, body.name))) {
        throw problems.conflict(`A group named '${body.name}' exists in tenant '${slug}'.`);
      }
      const row = await this.repo.update(tx, tenant.id, id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
      });
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "group.update",
        resource: "group",
        resourceId: id,
        before: auditState(before),
        after: auditState(row),
      });
      return toGroupDto(row);
    });
  }

  /** Removes the group, its memberships (the devices stay) and the role bindings that targeted it. */
  async delete(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    await this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Group");
      const { bindings } = await this.repo.delete(tx, tenant.id, id);
      // Its members lose whatever its bindings granted: connected devices are re-checked.
      changes.emit({ kind: "acl", tenantId: tenant.id, id });
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "group.delete",
        resource: "group",
        resourceId: id,
        before: { ...auditState(before), bindings },
      });
    });
  }

  /** Idempotent: adding a device that is already a member changes nothing and records nothing. */
  async addMember(p: Principal, slug: string, groupId: string, deviceId: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    await this.database.transaction(async (tx, changes) => {
      await this.requireBoth(tx, tenant.id, groupId, deviceId);
      if (await this.repo.findMember(tx, groupId, deviceId)) return;
      await this.repo.addMember(tx, groupId, deviceId);
      // A device's permissions include its groups' bindings.
      changes.emit({ kind: "acl", tenantId: tenant.id, id: groupId });
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "group.member.add",
        resource: "group",
        resourceId: groupId,
        after: { groupId, deviceId },
      });
    });
  }

  async removeMember(p: Principal, slug: string, groupId: string, deviceId: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    await this.database.transaction(async (tx, changes) => {
      await this.requireBoth(tx, tenant.id, groupId, deviceId);
      if (!(await this.repo.findMember(tx, groupId, deviceId))) throw problems.notFound("Group membership of the device");
      await this.repo.removeMember(tx, groupId, deviceId);
      changes.emit({ kind: "acl", tenantId: tenant.id, id: groupId });
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "group.member.remove",
        resource: "group",
        resourceId: groupId,
        before: { groupId, deviceId },
      });
    });
  }

  /** Both looked up within the tenant: a group or device of another tenant is simply not found. */
  private async requireBoth(tx: Db, tenantId: string, groupId: string, deviceId: string) {
    if (!(await this.repo.find(tx, tenantId, groupId))) throw problems.notFound("Group");
    await requireDevice(this.devices, tx, tenantId, deviceId);
  }
}
