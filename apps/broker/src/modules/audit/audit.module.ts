import { Global, Module } from "@nestjs/common";
import { AuditRepository } from "./audit.repository.ts";
import { AuditService } from "./audit.service.ts";

@Global()
@Module({ providers: [AuditRepository, AuditService], exports: [AuditService, AuditRepository] })
export class AuditModule {}
