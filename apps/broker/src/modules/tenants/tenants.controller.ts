import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { schemas, slug } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { TenantsService } from "./tenants.service.ts";

export const slugPipe = new ZodPipe(slug);

@Controller("api/v1/tenants")
export class TenantsController {
  constructor(@Inject(TenantsService) private readonly tenants: TenantsService) {}

  @Get()
  list(@CurrentPrincipal() p: Principal, @Query(new ZodPipe(schemas.tenantListQuery)) q: z.infer<typeof schemas.tenantListQuery>) {
    return this.tenants.list(p, q);
  }

  @Post()
  create(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(schemas.createTenant)) body: z.infer<typeof schemas.createTenant>, @RequestId() rid?: string) {
    return this.tenants.create(p, body, rid);
  }

  @Get(":tenant")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string) {
    return this.tenants.get(p, tenant);
  }

  @Patch(":tenant")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.updateTenant)) body: z.infer<typeof schemas.updateTenant>,
    @RequestId() rid?: string,
  ) {
    return this.tenants.update(p, tenant, body, rid);
  }

  @Delete(":tenant")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @RequestId() rid?: string) {
    return this.tenants.delete(p, tenant, rid);
  }
}
