import { Controller, Get, Inject, Param, Query } from "@nestjs/common";
import { page, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { AuditRepository } from "./audit.repository.ts";

type AuditRow = Awaited<ReturnType<AuditRepository["list"]>>["items"][number];
type Query = z.infer<typeof schemas.auditListQuery>;

function toDto(e: AuditRow): z.infer<typeof schemas.auditEvent> {
  return {
    id: e.id.toString(),
    at: e.at.toISOString(),
    actor: e.actor,
    tenantId: e.tenantId,
    action: e.action,
    resource: e.resource,
    resourceId: e.resourceId,
    before: e.before ?? null,
    after: e.after ?? null,
  };
}

/** The audit log: tenant admins read their tenant's, platform admins everything. Newest first. */
@Controller("api/v1")
export class AuditController {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(AuditRepository) private readonly repo: AuditRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
  ) {}

  @Doc({ summary: "Audit log of the whole platform, newest first", tag: "Audit", query: schemas.auditListQuery, response: page(schemas.auditEvent), access: "platform_admin" })
  @Get("audit")
  async all(@CurrentPrincipal() p: Principal, @Query(new ZodPipe(schemas.auditListQuery)) q: Query) {
    this.access.requirePlatformAdmin(p);
    return this.page(undefined, q);
  }

  @Doc({ summary: "Audit log of a tenant, newest first", tag: "Audit", query: schemas.auditListQuery, response: page(schemas.auditEvent), access: "tenant_admin" })
  @Get("tenants/:tenant/audit")
  async tenant(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) slug: string, @Query(new ZodPipe(schemas.auditListQuery)) q: Query) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.page(tenant.id, q);
  }

  private async page(tenantId: string | undefined, q: Query) {
    const { items, total } = await this.repo.list(this.database.db, {
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(q.resource ? { resource: q.resource } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.since ? { since: new Date(q.since) } : {}),
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    });
    return { items: items.map(toDto), page: q.page, pageSize: q.pageSize, total };
  }
}
