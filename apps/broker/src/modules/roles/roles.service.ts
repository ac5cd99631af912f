import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import { schemas, type pageQuery } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { RolesRepository, type RuleData } from "./roles.repository.ts";
import { orderedRuleIds } from "./rule-ids.ts";

type RoleRow = NonNullable<Awaited<ReturnType<RolesRepository["find"]>>>;
type RuleInput = z.infer<typeof schemas.topicRule>;

export function toRoleDto(r: RoleRow): z.infer<typeof schemas.role> {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    rules: r.rules.map((x) => ({ id: x.id, effect: x.effect, action: x.action, topicFilter: x.topicFilter, priority: x.priority })),
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

function withIds(rules: RuleInput[]): RuleData[] {
  const ids = orderedRuleIds(rules.length);
  return rules.map((r, i) => ({ id: ids[i] as string, effect: r.effect, action: r.action, topicFilter: r.topicFilter, priority: r.priority }));
}

/** Roles: named sets of topic rules. A role's rules are given and replaced as a whole. */
@Injectable()
export class RolesService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(RolesRepository) private readonly repo: RolesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { items, total } = await this.repo.list(this.database.db, tenant.id, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toRoleDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Role");
    return toRoleDto(row);
  }

  /**
   * The checks POST /roles makes, without saving: the body against the same
   * schema (paths like `rules.3.topicFilter`, as a 400 would name them) and
   * the name against the tenant's roles, except `roleId`'s own (the editor
   * validating an existing role). Never a 400 for the body: its problems are
   * the answer.
   */
  async validate(p: Principal, slug: string, body: unknown, roleId: string | undefined): Promise<z.infer<typeof schemas.roleValidation>> {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const parsed = schemas.createRole.safeParse(body ?? {});
    const issues = parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message }));
    // The name is checked against the tenant even when other fields are wrong, so every problem shows at once.
    const name = schemas.createRole.shape.name.safeParse((body as { name?: unknown } | null)?.name);
    if (name.success) {
      const holder = await this.repo.findByName(this.database.db, tenant.id, name.data);
      if (holder && holder.id !== roleId) issues.push({ path: "name", message: `a role named '${name.data}' exists in tenant '${slug}'` });
    }
    return { valid: issues.length === 0, issues };
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createRole>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx) => {
      if (await this.repo.findByName(tx, tenant.id, body.name)) throw problems.conflict(`A role named '${body.name}' exists in tenant '${slug}'.`);
      const row = await this.repo.create(tx, { id: randomUUID(), tenantId: tenant.id, name: body.name, description: body.description ?? null }, withIds(body.rules));
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "role.create", resource: "role", resourceId: row.id, after: row });
      return toRoleDto(row);
    });
  }

  async update(p: Principal, slug: string, id: string, body: z.infer<typeof schemas.updateRole>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Role");
      if (body.name !== undefined && body.name !== before.name && (await this.repo.findByName(tx, tenant.id, body.name))) {
        throw problems.conflict(`A role named '${body.name}' exists in tenant '${slug}'.`);
      }
      const row = await this.repo.update(
        tx,
        tenant.id,
        id,
        {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
        },
        body.rules !== undefined ? withIds(body.rules) : undefined,
      );
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "role.update", resource: "role", resourceId: id, before, after: row });
      changes.emit({ kind: "acl", tenantId: tenant.id, id });
      return toRoleDto(row);
    });
  }

  /** Deleting a role deletes its bindings (foreign key cascade); the audit record lists them. */
  async delete(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    await this.database.transaction(async (tx, changes) => {
      const role = await this.repo.find(tx, tenant.id, id);
      if (!role) throw problems.notFound("Role");
      const bindings = await this.repo.bindingsOf(tx, tenant.id, id);
      await this.repo.delete(tx, id);
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "role.delete", resource: "role", resourceId: id, before: { ...role, bindings } });
      changes.emit({ kind: "acl", tenantId: tenant.id, id });
    });
  }
}
