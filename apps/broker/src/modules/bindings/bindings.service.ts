import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { RolesRepository } from "../roles/roles.repository.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { BindingsRepository } from "./bindings.repository.ts";

type BindingRow = NonNullable<Awaited<ReturnType<BindingsRepository["find"]>>>;

export function toBindingDto(b: BindingRow): z.infer<typeof schemas.binding> {
  return { id: b.id, roleId: b.roleId, targetType: b.targetType, targetId: b.targetId, createdAt: b.createdAt.toISOString() };
}

/**
 * Grants of a role to a device or to a device group. Granting permissions is
 * a tenant admin's decision, like writing the role itself.
 */
@Injectable()
export class BindingsService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(BindingsRepository) private readonly repo: BindingsRepository,
    @Inject(RolesRepository) private readonly roles: RolesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, q: z.infer<typeof schemas.bindingListQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { page, pageSize, ...filter } = q;
    const { items, total } = await this.repo.list(this.database.db, tenant.id, filter, (page - 1) * pageSize, pageSize);
    return { items: items.map(toBindingDto), page, pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Role binding");
    return toBindingDto(row);
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createBinding>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx, changes) => {
      // Both ends are looked up within this tenant: an id from another tenant is simply not found.
      if (!(await this.roles.exists(tx, tenant.id, body.roleId))) throw problems.notFound("Role");
      if (!(await this.repo.targetExists(tx, tenant.id, body.targetType, body.targetId))) {
        throw problems.notFound(body.targetType === "device" ? "Device" : "Device group");
      }
      if (await this.repo.findSame(tx, tenant.id, body.roleId, body.targetType, body.targetId)) {
        throw problems.conflict(`The role is already bound to this ${body.targetType}.`);
      }
      const row = await this.repo.create(tx, { id: randomUUID(), tenantId: tenant.id, ...body });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "binding.create", resource: "binding", resourceId: row.id, after: row });
      changes.emit({ kind: "acl", tenantId: tenant.id, id: row.id });
      return toBindingDto(row);
    });
  }

  async delete(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    await this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Role binding");
      await this.repo.delete(tx, id);
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "binding.delete", resource: "binding", resourceId: id, before });
      changes.emit({ kind: "acl", tenantId: tenant.id, id });
    });
  }
}
