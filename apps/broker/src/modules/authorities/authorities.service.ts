import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { PlatformKeys } from "../../common/platform-keys.ts";
import { problems } from "../../common/problem.ts";
import { SecretBox } from "../../common/secret-box.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { createAuthority } from "../certificates/pki.ts";
import { DatabaseService, type Db } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { AuthoritiesRepository } from "./authorities.repository.ts";

type AuthorityRow = NonNullable<Awaited<ReturnType<AuthoritiesRepository["find"]>>>;

export function toAuthorityDto(a: AuthorityRow): z.infer<typeof schemas.authority> {
  return {
    id: a.id,
    name: a.name,
    certificatePem: a.certificatePem,
    fingerprintSha256: a.fingerprintSha256,
    notBefore: a.notBefore.toISOString(),
    notAfter: a.notAfter.toISOString(),
    revokedAt: a.revokedAt?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
  };
}

/** What the certificates feature needs to sign with a tenant's CA. */
export interface SigningAuthority {
  id: string;
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * Tenant certificate authorities. The CA private key is sealed with the
 * platform key-encryption key before it reaches the repository and is opened
 * only in `signingAuthority`; no response or audit record ever holds it.
 */
@Injectable()
export class AuthoritiesService {
  private readonly box: SecretBox;

  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(AuthoritiesRepository) private readonly repo: AuthoritiesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(PlatformKeys) keys: PlatformKeys,
  ) {
    this.box = new SecretBox(keys.derive("kek"));
  }

  async list(p: Principal, slug: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { items, total } = await this.repo.list(this.database.db, tenant.id, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toAuthorityDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Certificate authority");
    return toAuthorityDto(row);
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createAuthority>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    const material = await createAuthority({ tenantSlug: tenant.slug, name: body.name, validityDays: body.validityDays });
    return this.database.transaction(async (tx, changes) => {
      const row = await this.repo.create(tx, {
        id: randomUUID(),
        tenantId: tenant.id,
        name: body.name,
        certificatePem: material.certificatePem,
        encryptedPrivateKey: this.box.seal(material.privateKeyPem),
        fingerprintSha256: material.fingerprintSha256,
        notBefore: material.notBefore,
        notAfter: material.notAfter,
      });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "authority.create", resource: "authority", resourceId: row.id, after: row });
      // No id: the set of trusted CAs changed, not one device certificate.
      changes.emit({ kind: "certificate", tenantId: tenant.id });
      return toAuthorityDto(row);
    });
  }

  /**
   * Marks the CA revoked: it issues nothing more, and certificates it signed
   * stop being trusted where the CA's state is checked. They keep their own
   * revocation state, so un-revoking is never implied.
   */
  async revoke(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_admin");
    return this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Certificate authority");
      if (before.revokedAt) throw problems.conflict(`Certificate authority '${before.name}' was revoked at ${before.revokedAt.toISOString()}.`);
      const row = await this.repo.revoke(tx, id, new Date());
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "authority.revoke", resource: "authority", resourceId: id, before, after: row });
      changes.emit({ kind: "certificate", tenantId: tenant.id });
      return toAuthorityDto(row);
    });
  }

  /**
   * The CA certificate and opened private key, for a caller that has already
   * checked the principal's access to the tenant. A CA of another tenant is
   * not found; a revoked or expired one is a conflict.
   */
  async signingAuthority(db: Db, tenantId: string, id: string, now = new Date()): Promise<SigningAuthority> {
    const row = await this.repo.findWithSealedKey(db, tenantId, id);
    if (!row) throw problems.notFound("Certificate authority");
    if (row.revokedAt) throw problems.conflict(`Certificate authority '${row.name}' is revoked and issues no certificates.`);
    if (row.notAfter <= now) throw problems.conflict(`Certificate authority '${row.name}' expired at ${row.notAfter.toISOString()}.`);
    if (row.notBefore > now) throw problems.conflict(`Certificate authority '${row.name}' is not valid before ${row.notBefore.toISOString()}.`);
    return { id: row.id, certificatePem: row.certificatePem, privateKeyPem: this.box.open(row.encryptedPrivateKey) };
  }
}
