import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import { AuthoritiesService } from "../authorities/authorities.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { DevicesRepository } from "../devices/devices.repository.ts";
import { requireDevice } from "../devices/require-device.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { CertificatesRepository } from "./certificates.repository.ts";
import { CsrRejectedError, issueFromCsr, issueWithNewKey, type IssuedMaterial } from "./pki.ts";

type CertificateRow = NonNullable<Awaited<ReturnType<CertificatesRepository["find"]>>>;

/** DeviceCertificate.subject is VARCHAR(500). */
const MAX_SUBJECT = 500;

export function toCertificateDto(c: CertificateRow): z.infer<typeof schemas.certificate> {
  return {
    id: c.id,
    deviceId: c.deviceId,
    authorityId: c.authorityId,
    serialNumber: c.serialNumber,
    fingerprintSha256: c.fingerprintSha256,
    subject: c.subject,
    certificatePem: c.certificatePem,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    revokedAt: c.revokedAt?.toISOString() ?? null,
    revocationReason: c.revocationReason,
    createdAt: c.createdAt.toISOString(),
  };
}

/**
 * Device certificates signed by one of the tenant's CAs. With a CSR the
 * device keeps its key; without one a key pair is generated and its private
 * key is in the response once, and nowhere else (not in the database, not in
 * the audit log).
 */
@Injectable()
export class CertificatesService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(CertificatesRepository) private readonly repo: CertificatesRepository,
    @Inject(DevicesRepository) private readonly devices: DevicesRepository,
    @Inject(AuthoritiesService) private readonly authorities: AuthoritiesService,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(p: Principal, slug: string, deviceId: string, q: z.infer<typeof pageQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    await requireDevice(this.devices, this.database.db, tenant.id, deviceId);
    const { items, total } = await this.repo.list(this.database.db, tenant.id, deviceId, (q.page - 1) * q.pageSize, q.pageSize);
    return { items: items.map(toCertificateDto), page: q.page, pageSize: q.pageSize, total };
  }

  async get(p: Principal, slug: string, deviceId: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    await requireDevice(this.devices, this.database.db, tenant.id, deviceId);
    const row = await this.repo.find(this.database.db, tenant.id, deviceId, id);
    if (!row) throw problems.notFound("Certificate");
    return toCertificateDto(row);
  }

  async issue(
    p: Principal,
    slug: string,
    deviceId: string,
    body: z.infer<typeof schemas.issueCertificate>,
    requestId?: string,
  ): Promise<z.infer<typeof schemas.issuedCertificate>> {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx, changes) => {
      const device = await requireDevice(this.devices, tx, tenant.id, deviceId);
      const ca = await this.authorities.signingAuthority(tx, tenant.id, body.authorityId);
      const request = {
        authorityPem: ca.certificatePem,
        authorityKeyPem: ca.privateKeyPem,
        tenantSlug: tenant.slug,
        clientId: device.clientId,
        validityDays: body.validityDays,
      };
      let issued: IssuedMaterial & { privateKeyPem?: string };
      try {
        issued = body.csrPem !== undefined ? await issueFromCsr({ ...request, csrPem: body.csrPem }) : await issueWithNewKey(request);
      } catch (err) {
        if (err instanceof CsrRejectedError) throw problems.badRequest(`The CSR was rejected: ${err.message}.`, [{ path: "csrPem", message: err.message }]);
        throw err;
      }
      if (issued.subject.length > MAX_SUBJECT) {
        throw problems.badRequest(`The device's client id makes a certificate subject longer than ${MAX_SUBJECT} characters.`);
      }
      const row = await this.repo.create(tx, {
        id: randomUUID(),
        tenantId: tenant.id,
        deviceId,
        authorityId: ca.id,
        serialNumber: issued.serialNumber,
        fingerprintSha256: issued.fingerprintSha256,
        subject: issued.subject,
        certificatePem: issued.certificatePem,
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
      });
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "certificate.issue",
        resource: "certificate",
        resourceId: row.id,
        after: { ...row, keyGenerated: issued.privateKeyPem !== undefined },
      });
      changes.emit({ kind: "certificate", tenantId: tenant.id, id: row.id });
      return { ...toCertificateDto(row), ...(issued.privateKeyPem !== undefined ? { privateKeyPem: issued.privateKeyPem } : {}) };
    });
  }

  async revoke(p: Principal, slug: string, deviceId: string, id: string, body: z.infer<typeof schemas.revokeCertificate>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx, changes) => {
      await requireDevice(this.devices, tx, tenant.id, deviceId);
      const before = await this.repo.find(tx, tenant.id, deviceId, id);
      if (!before) throw problems.notFound("Certificate");
      if (before.revokedAt) throw problems.conflict(`Certificate ${before.serialNumber} was revoked at ${before.revokedAt.toISOString()}.`);
      const row = await this.repo.revoke(tx, id, new Date(), body.reason);
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "certificate.revoke", resource: "certificate", resourceId: id, before, after: row });
      changes.emit({ kind: "certificate", tenantId: tenant.id, id });
      return toCertificateDto(row);
    });
  }

}
