import { Module } from "@nestjs/common";
import { AdminController } from "./admin.controller.ts";
import { RuntimeConfigService } from "./runtime-config.service.ts";

/** Runtime settings: log level and configuration reload (also on SIGHUP, see main.ts). */
@Module({ controllers: [AdminController], providers: [RuntimeConfigService], exports: [RuntimeConfigService] })
export class AdminModule {}
