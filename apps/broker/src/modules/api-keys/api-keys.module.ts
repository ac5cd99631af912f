import { Module } from "@nestjs/common";
import { PlatformApiKeysController, TenantApiKeysController } from "./api-keys.controller.ts";
import { ApiKeysRepository } from "./api-keys.repository.ts";
import { ApiKeysService } from "./api-keys.service.ts";

@Module({ controllers: [TenantApiKeysController, PlatformApiKeysController], providers: [ApiKeysRepository, ApiKeysService] })
export class ApiKeysModule {}
