import { Module } from "@nestjs/common";
import { AuthoritiesController } from "./authorities.controller.ts";
import { AuthoritiesRepository } from "./authorities.repository.ts";
import { AuthoritiesService } from "./authorities.service.ts";

@Module({ controllers: [AuthoritiesController], providers: [AuthoritiesRepository, AuthoritiesService], exports: [AuthoritiesService] })
export class AuthoritiesModule {}
