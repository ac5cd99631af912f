import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { MembershipsService } from "./memberships.service.ts";

@Controller("api/v1/tenants/:tenant/members")
export class MembershipsController {
  constructor(@Inject(MembershipsService) private readonly members: MembershipsService) {}

  @Doc({ summary: "List the tenant's members (roles stored here, besides token groups)", tag: "Members", query: pageQuery, response: page(schemas.membership), access: "tenant_admin" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>) {
    return this.members.list(p, tenant, q);
  }

  @Doc({ summary: "Add a member by OIDC issuer and subject (the user is created if unknown)", tag: "Members", body: schemas.createMembership, response: schemas.membership, access: "tenant_admin" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createMembership)) body: z.infer<typeof schemas.createMembership>,
    @RequestId() rid?: string,
  ) {
    return this.members.create(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a member", tag: "Members", response: schemas.membership, access: "tenant_admin" })
  @Get(":userId")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("userId", idPipe) userId: string) {
    return this.members.get(p, tenant, userId);
  }

  @Doc({ summary: "Change a member's role", tag: "Members", body: schemas.updateMembership, response: schemas.membership, access: "tenant_admin" })
  @Patch(":userId")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("userId", idPipe) userId: string,
    @Body(new ZodPipe(schemas.updateMembership)) body: z.infer<typeof schemas.updateMembership>,
    @RequestId() rid?: string,
  ) {
    return this.members.update(p, tenant, userId, body, rid);
  }

  @Doc({ summary: "Remove a member (the user row stays)", tag: "Members", access: "tenant_admin" })
  @Delete(":userId")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("userId", idPipe) userId: string, @RequestId() rid?: string) {
    return this.members.delete(p, tenant, userId, rid);
  }
}
