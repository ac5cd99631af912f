import { Global, Module } from "@nestjs/common";
import { AuditController } from "./audit.controller.ts";
import { AuditRepository } from "./audit.repository.ts";
import { AuditService } from "./audit.service.ts";

@Global()
@Module({ controllers: [AuditController], providers: [AuditRepository, AuditService], exports: [AuditService, AuditRepository] })
export class AuditModule {}
