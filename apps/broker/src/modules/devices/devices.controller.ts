import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { page, schemas, uuid } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { DevicesService } from "./devices.service.ts";

export const idPipe = new ZodPipe(uuid);

@Controller("api/v1/tenants/:tenant/devices")
export class DevicesController {
  constructor(@Inject(DevicesService) private readonly devices: DevicesService) {}

  @Doc({
    summary: "List devices with search, tag, enabled, group and connected filters (connected: a live MQTT connection to this broker process)",
    tag: "Devices",
    query: schemas.deviceListQuery,
    response: page(schemas.device),
    access: "tenant_viewer",
  })
  @Get()
  list(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(schemas.deviceListQuery)) q: z.infer<typeof schemas.deviceListQuery>,
  ) {
    return this.devices.list(p, tenant, q);
  }

  @Doc({ summary: "Create a device (client id unique in the tenant)", tag: "Devices", body: schemas.createDevice, response: schemas.device, access: "tenant_operator" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createDevice)) body: z.infer<typeof schemas.createDevice>,
    @RequestId() rid?: string,
  ) {
    return this.devices.create(p, tenant, body, rid);
  }

  /** 201 with the count (and generated passwords, once); 422 with every problem and its line; 413 past the row limit. */
  @Doc({
    summary: "Import devices from CSV (clientId,description,tags,groups; ';'-separated lists; groups by name), all or nothing",
    tag: "Devices",
    body: schemas.importDevices,
    response: schemas.importDevicesResult,
    access: "tenant_operator",
  })
  @Post("import")
  importCsv(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.importDevices)) body: z.infer<typeof schemas.importDevices>,
    @RequestId() rid?: string,
  ) {
    return this.devices.importCsv(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a device (with its live connection status)", tag: "Devices", response: schemas.device, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.devices.get(p, tenant, id);
  }

  @Doc({ summary: "Update a device (description, tags, enabled)", tag: "Devices", body: schemas.updateDevice, response: schemas.device, access: "tenant_operator" })
  @Patch(":id")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Body(new ZodPipe(schemas.updateDevice)) body: z.infer<typeof schemas.updateDevice>,
    @RequestId() rid?: string,
  ) {
    return this.devices.update(p, tenant, id, body, rid);
  }

  @Doc({ summary: "Delete a device", tag: "Devices", access: "tenant_operator" })
  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.devices.delete(p, tenant, id, rid);
  }
}
