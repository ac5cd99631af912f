import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from "@nestjs/common";
import { page, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { BindingsService } from "./bindings.service.ts";

@Controller("api/v1/tenants/:tenant/bindings")
export class BindingsController {
  constructor(@Inject(BindingsService) private readonly bindings: BindingsService) {}

  @Doc({ summary: "List role bindings, filtered by role or target", tag: "Role bindings", query: schemas.bindingListQuery, response: page(schemas.binding), access: "tenant_viewer" })
  @Get()
  list(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(schemas.bindingListQuery)) q: z.infer<typeof schemas.bindingListQuery>,
  ) {
    return this.bindings.list(p, tenant, q);
  }

  @Doc({ summary: "Bind a role to a device or a device group", tag: "Role bindings", body: schemas.createBinding, response: schemas.binding, access: "tenant_admin" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createBinding)) body: z.infer<typeof schemas.createBinding>,
    @RequestId() rid?: string,
  ) {
    return this.bindings.create(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a role binding", tag: "Role bindings", response: schemas.binding, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.bindings.get(p, tenant, id);
  }

  @Doc({ summary: "Delete a role binding", tag: "Role bindings", access: "tenant_admin" })
  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.bindings.delete(p, tenant, id, rid);
  }
}
