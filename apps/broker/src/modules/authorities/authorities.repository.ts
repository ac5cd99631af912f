import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

/** Everything but the sealed private key: what reads return, so the key cannot leak into a response by accident. */
const publicFields = {
  id: true,
  tenantId: true,
  name: true,
  certificatePem: true,
  fingerprintSha256: true,
  notBefore: true,
  notAfter: true,
  createdAt: true,
  revokedAt: true,
} as const;

/** Every query carries tenantId: an authority id from another tenant matches nothing. */
@Injectable()
export class AuthoritiesRepository {
  async list(db: Db, tenantId: string, skip: number, take: number) {
    const where = { tenantId };
    const [items, total] = await Promise.all([
      db.certificateAuthority.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip, take, select: publicFields }),
      db.certificateAuthority.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, id: string) {
    return db.certificateAuthority.findFirst({ where: { id, tenantId }, select: publicFields });
  }

  /** The one read that includes the sealed key, for signing. */
  findWithSealedKey(db: Db, tenantId: string, id: string) {
    return db.certificateAuthority.findFirst({ where: { id, tenantId }, select: { ...publicFields, encryptedPrivateKey: true } });
  }

  create(
    db: Db,
    data: {
      id: string;
      tenantId: string;
      name: string;
      certificatePem: string;
      encryptedPrivateKey: string;
      fingerprintSha256: string;
      notBefore: Date;
      notAfter: Date;
    },
  ) {
    return db.certificateAuthority.create({ data, select: publicFields });
  }

  revoke(db: Db, id: string, at: Date) {
    return db.certificateAuthority.update({ where: { id }, data: { revokedAt: at }, select: publicFields });
  }
}
