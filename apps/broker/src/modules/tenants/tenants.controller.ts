import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { page, schemas, slug } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { TenantsService } from "./tenants.service.ts";

export const slugPipe = new ZodPipe(slug);

@Controller("api/v1/tenants")
export class TenantsController {
  constructor(@Inject(TenantsService) private readonly tenants: TenantsService) {}

  @Doc({ summary: "List tenants (platform admins: all; others: their own)", tag: "Tenants", query: schemas.tenantListQuery, response: page(schemas.tenant), access: "authenticated" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Query(new ZodPipe(schemas.tenantListQuery)) q: z.infer<typeof schemas.tenantListQuery>) {
    return this.tenants.list(p, q);
  }

  @Doc({ summary: "Create a tenant", tag: "Tenants", body: schemas.createTenant, response: schemas.tenant, access: "platform_admin" })
  @Post()
  create(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(schemas.createTenant)) body: z.infer<typeof schemas.createTenant>, @RequestId() rid?: string) {
    return this.tenants.create(p, body, rid);
  }

  @Doc({ summary: "Get a tenant", tag: "Tenants", response: schemas.tenant, access: "tenant_viewer" })
  @Get(":tenant")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string) {
    return this.tenants.get(p, tenant);
  }

  @Doc({ summary: "Rename (tenant admin) or change status/quotas (platform admin)", tag: "Tenants", body: schemas.updateTenant, response: schemas.tenant, access: "tenant_admin" })
  @Patch(":tenant")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.updateTenant)) body: z.infer<typeof schemas.updateTenant>,
    @RequestId() rid?: string,
  ) {
    return this.tenants.update(p, tenant, body, rid);
  }

  @Doc({ summary: "Delete a tenant and everything in it", tag: "Tenants", access: "platform_admin" })
  @Delete(":tenant")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @RequestId() rid?: string) {
    return this.tenants.delete(p, tenant, rid);
  }
}
