import { Module } from "@nestjs/common";
import { DevicesModule } from "../devices/devices.module.ts";
import { CredentialsController } from "./credentials.controller.ts";
import { CredentialsRepository } from "./credentials.repository.ts";
import { CredentialsService } from "./credentials.service.ts";

@Module({ imports: [DevicesModule], controllers: [CredentialsController], providers: [CredentialsRepository, CredentialsService] })
export class CredentialsModule {}
