import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { CONFIG, type HalyardConfig } from "../../config/config.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { LOCAL_ISSUER } from "../auth/users.repository.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { MembershipsRepository } from "./memberships.repository.ts";

type MembershipRow = NonNullable<Awaited<ReturnType<MembershipsRepository["find"]>>>;

export function toMembershipDto(m: MembershipRow): z.infer<typeof schemas.membership> {
  return {
    userId: m.user.id,
    issuer: m.user.issuer,
    subject: m.user.subject,
    email: m.user.email,
    displayName: m.user.displayName,
    role: m.role,
    createdAt: m.createdAt.toISOString(),
  };
}

/**
 * People's roles in a tenant, stored in the database. They add to the roles
 * an OIDC token's groups carry: AuthService keeps the higher of the two, so a
 * membership can raise someone's role but not lower what their groups give.
 * Only tenant admins read or change memberships.
 */
@Injectable()
export class MembershipsService {
  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(MembershipsRepository) private readonly repo: MembershipsRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    const { items, total } = await this.repo.list(this.database.db, tenant.id, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toMembershipDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, userId: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    const row = await this.repo.find(this.database.db, tenant.id, userId);
    if (!row) throw problems.notFound("Member");
    return toMembershipDto(row);
  }

  /**
   * The user is named by OIDC issuer and subject, and created when unknown so
   * the role is there on their first sign-in. Only issuers whose users can
   * sign in are accepted: a membership under a mistyped issuer would never apply.
   * `email` is kept only on a user created here; sign-in refreshes it from the token.
   */
  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createMembership>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    const trusted = [this.config.oidcIssuer, LOCAL_ISSUER].filter((i): i is string => i !== undefined);
    if (!trusted.includes(body.issuer)) {
      throw problems.badRequest("1 field(s) are invalid.", [{ path: "issuer", message: `must be a trusted issuer (${trusted.join(", ")})` }]);
    }
    return this.database.transaction(async (tx) => {
      let user = await this.repo.findUser(tx, body.issuer, body.subject);
      const userCreated = !user;
      user ??= await this.repo.createUser(tx, { id: randomUUID(), issuer: body.issuer, subject: body.subject, email: body.email ?? null });
      if (await this.repo.find(tx, tenant.id, user.id)) throw problems.conflict(`That user is already a member of tenant '${slug}'; change their role instead.`);
      const row = await this.repo.create(tx, { userId: user.id, tenantId: tenant.id, role: body.role });
      const dto = toMembershipDto(row);
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "membership.create",
        resource: "membership",
        resourceId: user.id,
        after: { ...dto, userCreated },
      });
      return dto;
    });
  }

  async update(p: Principal, slug: string, userId: string, body: z.infer<typeof schemas.updateMembership>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx) => {
      const before = await this.repo.find(tx, tenant.id, userId);
      if (!before) throw problems.notFound("Member");
      if (before.role === body.role) return toMembershipDto(before);
      const row = await this.repo.update(tx, tenant.id, userId, body.role);
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "membership.update",
        resource: "membership",
        resourceId: userId,
        before: toMembershipDto(before),
        after: toMembershipDto(row),
      });
      return toMembershipDto(row);
    });
  }

  /** Removes the membership only; the user row stays (it may belong to other tenants, and to the audit log). */
  async delete(p: Principal, slug: string, userId: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    await this.database.transaction(async (tx) => {
      const before = await this.repo.find(tx, tenant.id, userId);
      if (!before) throw problems.notFound("Member");
      await this.repo.delete(tx, tenant.id, userId);
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "membership.delete",
        resource: "membership",
        resourceId: userId,
        before: toMembershipDto(before),
      });
    });
  }
}
