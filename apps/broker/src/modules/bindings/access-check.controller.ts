import { Body, Controller, HttpCode, Inject, Param, Post } from "@nestjs/common";
import { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { AccessCheckService } from "./access-check.service.ts";

/** Lives with the bindings: it answers what a device's bound roles let it do. */
@Controller("api/v1/tenants/:tenant/access-check")
export class AccessCheckController {
  constructor(@Inject(AccessCheckService) private readonly checks: AccessCheckService) {}

  @Doc({
    summary: "Would the broker allow this device to publish, subscribe or receive on a topic? Names the deciding rule, role and binding",
    tag: "Role bindings",
    body: schemas.accessCheck,
    response: schemas.accessCheckResult,
    status: 200,
    access: "tenant_viewer",
  })
  @Post()
  @HttpCode(200)
  check(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Body(new ZodPipe(schemas.accessCheck)) body: z.infer<typeof schemas.accessCheck>) {
    return this.checks.check(p, tenant, body);
  }
}
