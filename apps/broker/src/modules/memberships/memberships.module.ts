import { Module } from "@nestjs/common";
import { MembershipsController } from "./memberships.controller.ts";
import { MembershipsRepository } from "./memberships.repository.ts";
import { MembershipsService } from "./memberships.service.ts";

@Module({ controllers: [MembershipsController], providers: [MembershipsRepository, MembershipsService] })
export class MembershipsModule {}
