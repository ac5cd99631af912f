import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import { schemas, type pageQuery } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { generatePassword, hashGeneratedSecret, hashPassword } from "../auth/secrets.ts";
import { DatabaseService, type Db } from "../database/database.service.ts";
import { DevicesRepository } from "../devices/devices.repository.ts";
import { requireDevice } from "../devices/require-device.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { CredentialsRepository } from "./credentials.repository.ts";

type CredentialRow = NonNullable<Awaited<ReturnType<CredentialsRepository["find"]>>>;

export function toCredentialDto(c: CredentialRow): z.infer<typeof schemas.credential> {
  return {
    id: c.id,
    deviceId: c.deviceId,
    username: c.username,
    enabled: c.enabled,
    expiresAt: c.expiresAt?.toISOString() ?? null,
    lastUsedAt: c.lastUsedAt?.toISOString() ?? null,
    revokedAt: c.revokedAt?.toISOString() ?? null,
    createdAt: c.createdAt.toISOString(),
  };
}

function requireFuture(expiresAt: string | null | undefined): Date | null | undefined {
  if (expiresAt === undefined || expiresAt === null) return expiresAt;
  const at = new Date(expiresAt);
  if (at.getTime() <= Date.now()) throw problems.badRequest("1 field(s) are invalid.", [{ path: "expiresAt", message: "must be in the future" }]);
  return at;
}

function toDate(expiresAt: string | null | undefined): Date | null | undefined {
  return expiresAt === undefined || expiresAt === null ? expiresAt : new Date(expiresAt);
}

/**
 * Username/password credentials of a device. The password is shown once, in
 * the response to POST, and stored only as an argon2id hash.
 *
 * DELETE revokes rather than removes: the row stays (revokedAt set, disabled)
 * so the audit log and lastUsedAt keep pointing at something, and a revoked
 * credential cannot be brought back (PATCH on it is a 409). Its username stays
 * taken, so a username names one credential for the life of the tenant.
 * PATCH with an expiry now or in the past expires the credential at once
 * (the console's "Expire"): like a revocation, connections that logged in
 * with it are closed, but it can be given a new expiry later.
 *
 * Rotation, two ways: POST .../rotate replaces the password in place (same
 * credential, same username; the old password stops working at once and
 * connections that used it are closed), or create a second credential, move
 * the device over, then revoke the first.
 */
@Injectable()
export class CredentialsService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(CredentialsRepository) private readonly repo: CredentialsRepository,
    @Inject(DevicesRepository) private readonly devices: DevicesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, deviceId: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    await requireDevice(this.devices, this.database.db, tenant.id, deviceId);
    const { items, total } = await this.repo.list(this.database.db, tenant.id, deviceId, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toCredentialDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, deviceId: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    await requireDevice(this.devices, this.database.db, tenant.id, deviceId);
    const row = await this.repo.find(this.database.db, tenant.id, deviceId, id);
    if (!row) throw problems.notFound("Credential");
    return toCredentialDto(row);
  }

  /**
   * The username defaults to the device's client id. When that is taken (say,
   * by the credential being rotated out) or cannot be a username (it contains
   * '@'), the caller must choose one: a guessed variant would be a surprise in
   * the device's configuration.
   */
  async create(p: Principal, slug: string, deviceId: string, body: z.infer<typeof schemas.createCredential>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    const expiresAt = requireFuture(body.expiresAt) ?? null;
    const device = await requireDevice(this.devices, this.database.db, tenant.id, deviceId);
    const username = body.username ?? device.clientId;
    if (body.username === undefined && !schemas.credentialUsername.safeParse(username).success) {
      throw problems.badRequest("1 field(s) are invalid.", [
        { path: "username", message: "the device's client id cannot be a username (it contains '@'); give a username" },
      ]);
    }
    await this.requireUsernameFree(this.database.db, tenant.id, username, body.username === undefined);
    const password = body.password ?? generatePassword();
    // Hashed outside the transaction: argon2id takes tens of milliseconds and needs no connection.
    // A password we generated is high-entropy and gets the fast hash; one a person chose gets argon2id.
    const passwordHash = body.password === undefined ? hashGeneratedSecret(password) : await hashPassword(password);
    return this.database.transaction(async (tx, changes) => {
      await requireDevice(this.devices, tx, tenant.id, deviceId);
      await this.requireUsernameFree(tx, tenant.id, username, body.username === undefined);
      const row = await this.repo.create(tx, { id: randomUUID(), tenantId: tenant.id, deviceId, username, passwordHash, expiresAt });
      // The broker may have cached "no such username" from an earlier CONNECT.
      changes.emit({ kind: "credential", tenantId: tenant.id, id: row.id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "credential.create", resource: "credential", resourceId: row.id, after: row });
      return { ...toCredentialDto(row), password } satisfies z.infer<typeof schemas.createdCredential>;
    });
  }

  async update(p: Principal, slug: string, deviceId: string, id: string, body: z.infer<typeof schemas.updateCredential>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    const expiresAt = toDate(body.expiresAt);
    return this.database.transaction(async (tx, changes) => {
      await requireDevice(this.devices, tx, tenant.id, deviceId);
      const before = await this.repo.find(tx, tenant.id, deviceId, id);
      if (!before) throw problems.notFound("Credential");
      if (before.revokedAt) throw problems.conflict("The credential is revoked; create a new one instead.");
      const row = await this.repo.update(tx, tenant.id, id, {
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      });
      // A device connected with a credential just disabled or expired is disconnected.
      changes.emit({ kind: "credential", tenantId: tenant.id, id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "credential.update", resource: "credential", resourceId: id, before, after: row });
      return toCredentialDto(row);
    });
  }

  /**
   * A new generated password for the credential, shown in this response
   * only. The old one stops working at once (the broker's cached entry and
   * verified-password memo for the credential are dropped by the change
   * event), and devices connected with it are disconnected (0x98): the
   * broker remembers which password each connection used. A revoked
   * credential cannot be rotated (409).
   */
  async rotate(p: Principal, slug: string, deviceId: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    const password = generatePassword();
    const passwordHash = hashGeneratedSecret(password);
    return this.database.transaction(async (tx, changes) => {
      await requireDevice(this.devices, tx, tenant.id, deviceId);
      const before = await this.repo.find(tx, tenant.id, deviceId, id);
      if (!before) throw problems.notFound("Credential");
      if (before.revokedAt) throw problems.conflict("The credential is revoked; create a new one instead.");
      const row = await this.repo.setPassword(tx, tenant.id, id, passwordHash);
      changes.emit({ kind: "credential", tenantId: tenant.id, id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "credential.rotate", resource: "credential", resourceId: id, before, after: row });
      return { ...toCredentialDto(row), password } satisfies z.infer<typeof schemas.createdCredential>;
    });
  }

  /** Revokes; revoking a revoked credential changes nothing and records nothing. */
  async revoke(p: Principal, slug: string, deviceId: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    await this.database.transaction(async (tx, changes) => {
      await requireDevice(this.devices, tx, tenant.id, deviceId);
      const before = await this.repo.find(tx, tenant.id, deviceId, id);
      if (!before) throw problems.notFound("Credential");
      if (before.revokedAt) return;
      const row = await this.repo.update(tx, tenant.id, id, { enabled: false, revokedAt: new Date() });
      changes.emit({ kind: "credential", tenantId: tenant.id, id });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "credential.revoke", resource: "credential", resourceId: id, before, after: row });
    });
  }


  private async requireUsernameFree(db: Db, tenantId: string, username: string, defaulted: boolean) {
    if (!(await this.repo.usernameTaken(db, tenantId, username))) return;
    throw problems.conflict(
      defaulted
        ? `The username '${username}' (the device's client id) is taken by another credential of this tenant; give a username.`
        : `The username '${username}' is taken by another credential of this tenant.`,
    );
  }
}
