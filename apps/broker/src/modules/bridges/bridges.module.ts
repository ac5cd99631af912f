import { Module } from "@nestjs/common";
import { BridgesController } from "./bridges.controller.ts";
import { BridgesRepository } from "./bridges.repository.ts";
import { BridgesService } from "./bridges.service.ts";

@Module({ controllers: [BridgesController], providers: [BridgesRepository, BridgesService] })
export class BridgesModule {}
