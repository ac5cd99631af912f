import { Module } from "@nestjs/common";
import { RolesModule } from "../roles/roles.module.ts";
import { BindingsController } from "./bindings.controller.ts";
import { BindingsRepository } from "./bindings.repository.ts";
import { BindingsService } from "./bindings.service.ts";

@Module({ imports: [RolesModule], controllers: [BindingsController], providers: [BindingsRepository, BindingsService] })
export class BindingsModule {}
