import { Body, Controller, Get, HttpCode, Inject, Post, Put } from "@nestjs/common";
import { admin } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { RuntimeConfigService } from "./runtime-config.service.ts";

/** Runtime settings of this broker process; platform administrators only, every change audited. */
@Controller("api/v1/admin")
export class AdminController {
  constructor(@Inject(RuntimeConfigService) private readonly runtime: RuntimeConfigService) {}

  @Doc({ summary: "Current log level of this process", tag: "Administration", response: admin.logLevelState, access: "platform_admin" })
  @Get("log-level")
  logLevel(@CurrentPrincipal() p: Principal) {
    return this.runtime.logLevel(p);
  }

  @Doc({ summary: "Change the log level of this process at once (until restart or reload)", tag: "Administration", body: admin.setLogLevel, response: admin.logLevelState, access: "platform_admin" })
  @Put("log-level")
  setLogLevel(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(admin.setLogLevel)) body: z.infer<typeof admin.setLogLevel>, @RequestId() rid?: string) {
    return this.runtime.setLogLevel(p, body.level, rid);
  }

  @Doc({ summary: "Settings a reload can change, with the values in effect", tag: "Administration", response: admin.runtimeConfig, access: "platform_admin" })
  @Get("config")
  config(@CurrentPrincipal() p: Principal) {
    return this.runtime.current(p);
  }

  @Doc({
    summary: "Re-read the configuration (HALYARD_CONFIG file) and apply what needs no restart; changes that do are listed, not applied",
    tag: "Administration",
    response: admin.configReloadResult,
    status: 200,
    access: "platform_admin",
  })
  @Post("config/reload")
  @HttpCode(200)
  reload(@CurrentPrincipal() p: Principal, @RequestId() rid?: string) {
    return this.runtime.reloadFromApi(p, rid);
  }
}
