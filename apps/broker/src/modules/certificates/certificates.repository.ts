import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export type RevocationReason = "unspecified" | "key_compromise" | "ca_compromise" | "affiliation_changed" | "superseded" | "cessation_of_operation";

/** Every query carries tenantId and deviceId: a certificate is only found under the device it belongs to. */
@Injectable()
export class CertificatesRepository {
  async list(db: Db, tenantId: string, deviceId: string, skip: number, take: number) {
    const where = { tenantId, deviceId };
    const [items, total] = await Promise.all([
      db.deviceCertificate.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip, take }),
      db.deviceCertificate.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, deviceId: string, id: string) {
    return db.deviceCertificate.findFirst({ where: { id, tenantId, deviceId } });
  }

  create(
    db: Db,
    data: {
      id: string;
      tenantId: string;
      deviceId: string;
      authorityId: string;
      serialNumber: string;
      fingerprintSha256: string;
      subject: string;
      certificatePem: string;
      notBefore: Date;
      notAfter: Date;
    },
  ) {
    return db.deviceCertificate.create({ data });
  }

  revoke(db: Db, id: string, at: Date, reason: RevocationReason) {
    return db.deviceCertificate.update({ where: { id }, data: { revokedAt: at, revocationReason: reason } });
  }
}
