import { Module } from "@nestjs/common";
import { DevicesModule } from "../devices/devices.module.ts";
import { GroupsController } from "./groups.controller.ts";
import { GroupsRepository } from "./groups.repository.ts";
import { GroupsService } from "./groups.service.ts";

@Module({ imports: [DevicesModule], controllers: [GroupsController], providers: [GroupsRepository, GroupsService] })
export class GroupsModule {}
