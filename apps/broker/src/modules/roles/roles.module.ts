import { Module } from "@nestjs/common";
import { RolesController } from "./roles.controller.ts";
import { RolesRepository } from "./roles.repository.ts";
import { RolesService } from "./roles.service.ts";

@Module({ controllers: [RolesController], providers: [RolesRepository, RolesService], exports: [RolesRepository] })
export class RolesModule {}
