import { Module, type DynamicModule } from "@nestjs/common";
import type { Logger } from "pino";
import type { HalyardConfig } from "./config/config.ts";
import { CoreModule } from "./core.module.ts";
import { HealthController } from "./health/health.controller.ts";
import { Readiness } from "./health/readiness.ts";
import { AdminModule } from "./modules/admin/admin.module.ts";
import { ApiKeysModule } from "./modules/api-keys/api-keys.module.ts";
import { CredentialsModule } from "./modules/credentials/credentials.module.ts";
import { GroupsModule } from "./modules/groups/groups.module.ts";
import { MembershipsModule } from "./modules/memberships/memberships.module.ts";
import { AuditModule } from "./modules/audit/audit.module.ts";
import { AuthModule } from "./modules/auth/auth.module.ts";
import { DatabaseModule } from "./modules/database/database.module.ts";
import { DevicesModule } from "./modules/devices/devices.module.ts";
import { TenantsModule } from "./modules/tenants/tenants.module.ts";
import { AuthoritiesModule } from "./modules/authorities/authorities.module.ts";
import { BindingsModule } from "./modules/bindings/bindings.module.ts";
import { BridgesModule } from "./modules/bridges/bridges.module.ts";
import { CertificatesModule } from "./modules/certificates/certificates.module.ts";
import { RolesModule } from "./modules/roles/roles.module.ts";
import { MonitoringModule } from "./modules/monitoring/monitoring.module.ts";
import { MetricsController } from "./metrics/metrics.controller.ts";
import { MetricsService } from "./metrics/metrics.service.ts";
import { MqttService } from "./mqtt/mqtt.service.ts";
import { TenantDirectoryRepository } from "./mqtt/tenancy/tenant-directory.repository.ts";
import { OpenApiModule } from "./openapi/openapi.module.ts";

/**
 * Root module. Order matters for start-up: the database (and its migrations)
 * first, then authentication (which creates the local administrator), then
 * the API features, and the MQTT listeners last.
 */
@Module({})
export class AppModule {
  static forRoot(config: HalyardConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, logger), DatabaseModule, AuditModule, AuthModule, TenantsModule, DevicesModule, OpenApiModule, GroupsModule, CredentialsModule, MembershipsModule, ApiKeysModule, AuthoritiesModule, CertificatesModule, RolesModule, BindingsModule, BridgesModule, MonitoringModule, AdminModule],
      controllers: [HealthController, MetricsController],
      providers: [TenantDirectoryRepository, MqttService, MetricsService, Readiness],
      exports: [MqttService],
    };
  }
}
