import { Module } from "@nestjs/common";
import { DevicesController } from "./devices.controller.ts";
import { DevicesRepository } from "./devices.repository.ts";
import { DevicesService } from "./devices.service.ts";

@Module({ controllers: [DevicesController], providers: [DevicesRepository, DevicesService], exports: [DevicesRepository] })
export class DevicesModule {}
