import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from "@nestjs/common";
import { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { BindingsService } from "./bindings.service.ts";

@Controller("api/v1/tenants/:tenant/bindings")
export class BindingsController {
  constructor(@Inject(BindingsService) private readonly bindings: BindingsService) {}

  @Get()
  list(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(schemas.bindingListQuery)) q: z.infer<typeof schemas.bindingListQuery>,
  ) {
    return this.bindings.list(p, tenant, q);
  }

  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createBinding)) body: z.infer<typeof schemas.createBinding>,
    @RequestId() rid?: string,
  ) {
    return this.bindings.create(p, tenant, body, rid);
  }

  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.bindings.get(p, tenant, id);
  }

  @Delete(":id")
  @HttpCode(204)
  remove(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.bindings.delete(p, tenant, id, rid);
  }
}
