import { Module } from "@nestjs/common";
import { TenantDirectoryRepository } from "../../mqtt/tenancy/tenant-directory.repository.ts";
import { DevicesModule } from "../devices/devices.module.ts";
import { RolesModule } from "../roles/roles.module.ts";
import { AccessCheckController } from "./access-check.controller.ts";
import { AccessCheckRepository } from "./access-check.repository.ts";
import { AccessCheckService } from "./access-check.service.ts";
import { BindingsController } from "./bindings.controller.ts";
import { BindingsRepository } from "./bindings.repository.ts";
import { BindingsService } from "./bindings.service.ts";

/** Role bindings, and the access check that explains what they grant (it reads rules the way the broker does). */
@Module({
  imports: [RolesModule, DevicesModule],
  controllers: [BindingsController, AccessCheckController],
  providers: [BindingsRepository, BindingsService, AccessCheckRepository, AccessCheckService, TenantDirectoryRepository],
})
export class BindingsModule {}
