import { Inject, Injectable } from "@nestjs/common";
import type { TenantRole } from "@halyard/api-contract";
import { problems } from "../../common/problem.ts";
import { DatabaseService } from "../database/database.service.ts";
import { canSeeTenant, hasTenantRole, type Principal } from "../auth/principal.ts";
import { TenantsRepository } from "./tenants.repository.ts";

export interface TenantRef {
  id: string;
  slug: string;
  status: "active" | "suspended";
}

/**
 * The one gate in front of every tenant-scoped route. A tenant the principal
 * has no role in answers 404, exactly like one that does not exist, so
 * tenant names do not leak; a role too low for the action answers 403.
 */
@Injectable()
export class TenantAccess {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(TenantsRepository) private readonly tenants: TenantsRepository,
  ) {}

  async require(principal: Principal, slug: string, minimum: TenantRole): Promise<TenantRef> {
    if (!canSeeTenant(principal, slug)) throw problems.notFound(`Tenant '${slug}'`);
    const tenant = await this.tenants.findBySlug(this.database.db, slug);
    if (!tenant) throw problems.notFound(`Tenant '${slug}'`);
    if (!hasTenantRole(principal, slug, minimum)) {
      throw problems.forbidden(`This action needs the ${minimum.replace("tenant_", "")} role in tenant '${slug}'.`);
    }
    return { id: tenant.id, slug: tenant.slug, status: tenant.status };
  }

  requirePlatformAdmin(principal: Principal): void {
    if (!principal.platformAdmin) throw problems.forbidden("This action needs the platform administrator role.");
  }
}
