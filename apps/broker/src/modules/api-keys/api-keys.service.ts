import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { pageQuery, schemas, TenantRole } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import { hasTenantRole, type Principal } from "../auth/principal.ts";
import { generateApiKey } from "../auth/secrets.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { ApiKeysRepository } from "./api-keys.repository.ts";

type ApiKeyRow = NonNullable<Awaited<ReturnType<ApiKeysRepository["find"]>>>;
type Page = z.infer<typeof pageQuery>;

export function toApiKeyDto(k: ApiKeyRow): z.infer<typeof schemas.apiKey> {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    role: k.role,
    platformAdmin: k.platformAdmin,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
  };
}

function expiry(expiresAt: string | undefined): Date | null {
  if (expiresAt === undefined) return null;
  const at = new Date(expiresAt);
  if (at.getTime() <= Date.now()) throw problems.badRequest("1 field(s) are invalid.", [{ path: "expiresAt", message: "must be in the future" }]);
  return at;
}

/**
 * Keys are made by people (and OIDC clients), not by other keys: a key that
 * could mint keys would outlive its own revocation or expiry through them.
 * A key may still list and revoke keys, which only takes access away.
 */
function refuseKeyMintingKeys(p: Principal): void {
  if (p.kind === "apikey") throw problems.forbidden("An API key cannot create API keys; sign in as a person to create one.");
}

/**
 * API keys for automation (`Authorization: Bearer hyd_...`, resolved by
 * AuthService). A tenant key carries one role in one tenant; a platform key
 * is a platform administrator. The key is shown once, in the response to
 * POST; the database keeps its SHA-256 and its public prefix.
 *
 * DELETE revokes (sets revokedAt) and keeps the row, so the audit log's
 * `apikey:<id>` actors stay resolvable; revoking twice records nothing more.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(ApiKeysRepository) private readonly repo: ApiKeysRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  // ---- tenant keys: tenant admins ----

  async listTenant(p: Principal, slug: string, q: Page) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.page(tenant.id, q);
  }

  async getTenant(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.get(tenant.id, id);
  }

  /**
   * Managing keys needs tenant admin, and the key's role may not exceed the
   * caller's own: a key must never be a way to gain a role (this also binds
   * admin-role API keys and any future loosening of the route's minimum).
   */
  async createTenant(p: Principal, slug: string, body: z.infer<typeof schemas.createApiKey>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    refuseKeyMintingKeys(p);
    if (!hasTenantRole(p, slug, body.role)) throw problems.forbidden(`A key's role cannot be above your own role in tenant '${slug}'.`);
    return this.create(p, tenant.id, { name: body.name, role: body.role, platformAdmin: false, expiresAt: expiry(body.expiresAt) }, requestId);
  }

  async revokeTenant(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    await this.revoke(p, tenant.id, id, requestId);
  }

  // ---- platform keys: platform admins ----

  listPlatform(p: Principal, q: Page) {
    this.access.requirePlatformAdmin(p);
    return this.page(null, q);
  }

  getPlatform(p: Principal, id: string) {
    this.access.requirePlatformAdmin(p);
    return this.get(null, id);
  }

  createPlatform(p: Principal, body: z.infer<typeof schemas.createPlatformApiKey>, requestId?: string) {
    this.access.requirePlatformAdmin(p);
    refuseKeyMintingKeys(p);
    return this.create(p, null, { name: body.name, role: null, platformAdmin: true, expiresAt: expiry(body.expiresAt) }, requestId);
  }

  async revokePlatform(p: Principal, id: string, requestId?: string) {
    this.access.requirePlatformAdmin(p);
    await this.revoke(p, null, id, requestId);
  }

  // ---- shared ----

  private async page(tenantId: string | null, q: Page) {
    const { items, total } = await this.repo.list(this.database.db, tenantId, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toApiKeyDto), page: q.page, pageSize: q.pageSize, total };
  }

  private async get(tenantId: string | null, id: string) {
    const row = await this.repo.find(this.database.db, tenantId, id);
    if (!row) throw problems.notFound("API key");
    return toApiKeyDto(row);
  }

  private create(
    p: Principal,
    tenantId: string | null,
    key: { name: string; role: TenantRole | null; platformAdmin: boolean; expiresAt: Date | null },
    requestId: string | undefined,
  ): Promise<z.infer<typeof schemas.createdApiKey>> {
    const secret = generateApiKey();
    return this.database.transaction(async (tx) => {
      const row = await this.repo.create(tx, { id: randomUUID(), tenantId, prefix: secret.prefix, keyHash: secret.keyHash, ...key });
      await this.audit.record(tx, { principal: p, requestId, tenantId, action: "apikey.create", resource: "apikey", resourceId: row.id, after: row });
      return { ...toApiKeyDto(row), key: secret.key };
    });
  }

  private async revoke(p: Principal, tenantId: string | null, id: string, requestId: string | undefined) {
    await this.database.transaction(async (tx) => {
      const before = await this.repo.find(tx, tenantId, id);
      if (!before) throw problems.notFound("API key");
      if (before.revokedAt) return;
      const row = await this.repo.revoke(tx, tenantId, id);
      await this.audit.record(tx, { principal: p, requestId, tenantId, action: "apikey.revoke", resource: "apikey", resourceId: id, before, after: row });
    });
  }
}
