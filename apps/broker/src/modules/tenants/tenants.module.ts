import { Global, Module } from "@nestjs/common";
import { TenantAccess } from "./tenant-access.service.ts";
import { TenantsController } from "./tenants.controller.ts";
import { TenantsRepository } from "./tenants.repository.ts";
import { TenantsService } from "./tenants.service.ts";

@Global()
@Module({ controllers: [TenantsController], providers: [TenantsRepository, TenantsService, TenantAccess], exports: [TenantAccess, TenantsRepository] })
export class TenantsModule {}
