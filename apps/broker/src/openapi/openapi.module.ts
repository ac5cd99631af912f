import { Module } from "@nestjs/common";
import { DiscoveryModule } from "@nestjs/core";
import { OpenApiController } from "./openapi.controller.ts";
import { OpenApiService } from "./openapi.service.ts";

@Module({ imports: [DiscoveryModule], controllers: [OpenApiController], providers: [OpenApiService], exports: [OpenApiService] })
export class OpenApiModule {}
