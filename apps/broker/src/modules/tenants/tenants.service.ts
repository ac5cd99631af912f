import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "./tenant-access.service.ts";
import { QUOTA_FIELDS, TenantsRepository, type Quotas } from "./tenants.repository.ts";

type TenantRow = NonNullable<Awaited<ReturnType<TenantsRepository["findBySlug"]>>>;

export function toTenantDto(t: TenantRow): z.infer<typeof schemas.tenant> {
  const quotas: Quotas = {};
  for (const f of QUOTA_FIELDS) quotas[f] = t[f];
  return { id: t.id, slug: t.slug, name: t.name, status: t.status, quotas, createdAt: t.createdAt.toISOString(), updatedAt: t.updatedAt.toISOString() };
}

@Injectable()
export class TenantsService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(TenantsRepository) private readonly repo: TenantsRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(principal: Principal, query: z.infer<typeof schemas.tenantListQuery>) {
    const slugs = principal.platformAdmin ? undefined : [...principal.tenantRoles.keys()];
    const { items, total } = await this.repo.list(this.database.db, {
      ...(query.q ? { q: query.q } : {}),
      ...(slugs ? { slugs } : {}),
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    });
    return { items: items.map(toTenantDto), page: query.page, pageSize: query.pageSize, total };
  }

  async get(principal: Principal, slug: string) {
    await this.access.require(principal, slug, "tenant_viewer");
    return toTenantDto((await this.repo.findBySlug(this.database.db, slug)) as TenantRow);
  }

  async create(principal: Principal, body: z.infer<typeof schemas.createTenant>, requestId?: string) {
    this.access.requirePlatformAdmin(principal);
    return this.database.transaction(async (tx) => {
      if (await this.repo.findBySlug(tx, body.slug)) throw problems.conflict(`A tenant with slug '${body.slug}' exists.`);
      const row = await this.repo.create(tx, { id: randomUUID(), slug: body.slug, name: body.name, ...(body.quotas ?? {}) });
      await this.audit.record(tx, { principal, requestId, tenantId: row.id, action: "tenant.create", resource: "tenant", resourceId: row.id, after: row });
      return toTenantDto(row);
    });
  }

  /** Tenant admins may rename their tenant; status and quotas are the platform's to set. */
  async update(principal: Principal, slug: string, body: z.infer<typeof schemas.updateTenant>, requestId?: string) {
    const tenant = await this.access.require(principal, slug, "tenant_admin");
    if ((body.status !== undefined || body.quotas !== undefined) && !principal.platformAdmin) {
      throw problems.forbidden("Only platform administrators change a tenant's status or quotas.");
    }
    return this.database.transaction(async (tx, changes) => {
      const before = await this.repo.findBySlug(tx, slug);
      changes.emit({ kind: "tenant", tenantId: tenant.id });
      const row = await this.repo.update(tx, tenant.id, {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.status !== undefined ? { status: body.status } : {}),
        ...(body.quotas ?? {}),
      });
      await this.audit.record(tx, { principal, requestId, tenantId: row.id, action: "tenant.update", resource: "tenant", resourceId: row.id, before, after: row });
      return toTenantDto(row);
    });
  }

  async delete(principal: Principal, slug: string, requestId?: string) {
    this.access.requirePlatformAdmin(principal);
    const tenant = await this.access.require(principal, slug, "tenant_admin");
    await this.database.transaction(async (tx, changes) => {
      const before = await this.repo.findBySlug(tx, slug);
      changes.emit({ kind: "tenant", tenantId: tenant.id });
      await this.repo.delete(tx, tenant.id);
      await this.audit.record(tx, { principal, requestId, tenantId: tenant.id, action: "tenant.delete", resource: "tenant", resourceId: tenant.id, before });
    });
  }
}
