import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { BridgesService } from "./bridges.service.ts";

@Controller("api/v1/tenants/:tenant/bridges")
export class BridgesController {
  constructor(@Inject(BridgesService) private readonly bridges: BridgesService) {}

  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>) {
    return this.bridges.list(p, tenant, q);
  }

  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createBridge)) body: z.infer<typeof schemas.createBridge>,
    @RequestId() rid?: string,
  ) {
    return this.bridges.create(p, tenant, body, rid);
  }

  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.bridges.get(p, tenant, id);
  }

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

  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.bridges.delete(p, tenant, id, rid);
  }
}
