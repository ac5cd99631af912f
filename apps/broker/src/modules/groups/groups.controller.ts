import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put, Query } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { GroupsService } from "./groups.service.ts";

@Controller("api/v1/tenants/:tenant/groups")
export class GroupsController {
  constructor(@Inject(GroupsService) private readonly groups: GroupsService) {}

  @Doc({ summary: "List device groups, by name", tag: "Device groups", query: pageQuery, response: page(schemas.group), access: "tenant_viewer" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>) {
    return this.groups.list(p, tenant, q);
  }

  @Doc({ summary: "Create a device group (name unique in the tenant)", tag: "Device groups", body: schemas.createGroup, response: schemas.group, access: "tenant_operator" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createGroup)) body: z.infer<typeof schemas.createGroup>,
    @RequestId() rid?: string,
  ) {
    return this.groups.create(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a device group", tag: "Device groups", response: schemas.group, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.groups.get(p, tenant, id);
  }

  @Doc({ summary: "Rename or describe a device group", tag: "Device groups", body: schemas.updateGroup, response: schemas.group, access: "tenant_operator" })
  @Patch(":id")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Body(new ZodPipe(schemas.updateGroup)) body: z.infer<typeof schemas.updateGroup>,
    @RequestId() rid?: string,
  ) {
    return this.groups.update(p, tenant, id, body, rid);
  }

  @Doc({ summary: "Delete a device group (its devices stay; role bindings to it go)", tag: "Device groups", access: "tenant_operator" })
  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.groups.delete(p, tenant, id, rid);
  }

  @Doc({ summary: "Add a device to a group (idempotent); list members with GET devices?groupId=", tag: "Device groups", status: 204, access: "tenant_operator" })
  @Put(":id/members/:deviceId")
  @HttpCode(204)
  addMember(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Param("deviceId", idPipe) deviceId: string,
    @RequestId() rid?: string,
  ) {
    return this.groups.addMember(p, tenant, id, deviceId, rid);
  }

  @Doc({ summary: "Remove a device from a group", tag: "Device groups", access: "tenant_operator" })
  @Delete(":id/members/:deviceId")
  @HttpCode(204)
  removeMember(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Param("deviceId", idPipe) deviceId: string,
    @RequestId() rid?: string,
  ) {
    return this.groups.removeMember(p, tenant, id, deviceId, rid);
  }
}
