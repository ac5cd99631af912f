import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { RolesService } from "./roles.service.ts";

@Controller("api/v1/tenants/:tenant/roles")
export class RolesController {
  constructor(@Inject(RolesService) private readonly roles: RolesService) {}

  @Doc({ summary: "List roles with their topic rules", tag: "Roles", query: pageQuery, response: page(schemas.role), access: "tenant_viewer" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>) {
    return this.roles.list(p, tenant, q);
  }

  @Doc({ summary: "Create a role (name unique in the tenant) with its topic rules", tag: "Roles", body: schemas.createRole, response: schemas.role, access: "tenant_admin" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createRole)) body: z.infer<typeof schemas.createRole>,
    @RequestId() rid?: string,
  ) {
    return this.roles.create(p, tenant, body, rid);
  }

  @Doc({
    summary: "Check a role body (as for POST) without saving it: every problem with its path, for an editor to show inline",
    tag: "Roles",
    body: schemas.createRole,
    query: schemas.roleValidationQuery,
    response: schemas.roleValidation,
    status: 200,
    access: "tenant_viewer",
  })
  @Post("validate")
  @HttpCode(200)
  validate(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(schemas.roleValidationQuery)) q: z.infer<typeof schemas.roleValidationQuery>,
    @Body() body: unknown,
  ) {
    return this.roles.validate(p, tenant, body, q.roleId);
  }

  @Doc({ summary: "Get a role", tag: "Roles", response: schemas.role, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.roles.get(p, tenant, id);
  }

  @Doc({ summary: "Update a role; given rules replace its rules as a whole", tag: "Roles", body: schemas.updateRole, response: schemas.role, access: "tenant_admin" })
  @Patch(":id")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Body(new ZodPipe(schemas.updateRole)) body: z.infer<typeof schemas.updateRole>,
    @RequestId() rid?: string,
  ) {
    return this.roles.update(p, tenant, id, body, rid);
  }

  @Doc({ summary: "Delete a role and its bindings", tag: "Roles", access: "tenant_admin" })
  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.roles.delete(p, tenant, id, rid);
  }
}
