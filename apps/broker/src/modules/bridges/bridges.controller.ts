import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { BridgesService } from "./bridges.service.ts";

@Controller("api/v1/tenants/:tenant/bridges")
export class BridgesController {
  constructor(@Inject(BridgesService) private readonly bridges: BridgesService) {}

  @Doc({ summary: "List MQTT bridges to remote brokers", tag: "Bridges", query: pageQuery, response: page(schemas.bridge), access: "tenant_viewer" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>) {
    return this.bridges.list(p, tenant, q);
  }

  @Doc({ summary: "Create a bridge (name unique in the tenant)", tag: "Bridges", body: schemas.createBridge, response: schemas.bridge, access: "tenant_admin" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createBridge)) body: z.infer<typeof schemas.createBridge>,
    @RequestId() rid?: string,
  ) {
    return this.bridges.create(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a bridge", tag: "Bridges", response: schemas.bridge, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.bridges.get(p, tenant, id);
  }

  @Doc({
    summary: "Runtime status of a bridge: connection state, last error, messages forwarded each way (this broker process's view)",
    tag: "Bridges",
    response: schemas.bridgeStatus,
    access: "tenant_viewer",
  })
  @Get(":id/status")
  status(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.bridges.status(p, tenant, id);
  }

  @Doc({ summary: "Update a bridge", tag: "Bridges", body: schemas.updateBridge, response: schemas.bridge, access: "tenant_admin" })
  @Patch(":id")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Body(new ZodPipe(schemas.updateBridge)) body: z.infer<typeof schemas.updateBridge>,
    @RequestId() rid?: string,
  ) {
    return this.bridges.update(p, tenant, id, body, rid);
  }

  @Doc({ summary: "Delete a bridge", tag: "Bridges", access: "tenant_admin" })
  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.bridges.delete(p, tenant, id, rid);
  }
}
