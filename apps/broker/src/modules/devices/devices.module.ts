import { Module } from "@nestjs/common";
import { DevicesController } from "./devices.controller.ts";
import { DevicesRepository } from "./devices.repository.ts";
import { DevicesService } from "./devices.service.ts";
import { LiveClients } from "./live-clients.ts";

@Module({ controllers: [DevicesController], providers: [DevicesRepository, DevicesService, LiveClients], exports: [DevicesRepository, LiveClients] })
export class DevicesModule {}
