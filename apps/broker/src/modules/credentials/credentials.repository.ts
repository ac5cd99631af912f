import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

/** The hash never leaves this class except through `create`'s input: reads omit it. */
const noHash = { passwordHash: true } as const;

/** Every query carries tenantId (and the device id where the route names one). */
@Injectable()
export class CredentialsRepository {
  async list(db: Db, tenantId: string, deviceId: string, skip: number, take: number) {
    const where = { tenantId, deviceId };
    const [items, total] = await Promise.all([
      db.deviceCredential.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip, take, omit: noHash }),
      db.deviceCredential.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, deviceId: string, id: string) {
    return db.deviceCredential.findFirst({ where: { id, tenantId, deviceId }, omit: noHash });
  }

  /** Any credential of the tenant, revoked ones included: usernames are never reused. */
  usernameTaken(db: Db, tenantId: string, username: string) {
    return db.deviceCredential.findUnique({ where: { tenantId_username: { tenantId, username } }, select: { id: true } }).then(Boolean);
  }

  create(db: Db, data: { id: string; tenantId: string; deviceId: string; username: string; passwordHash: string; expiresAt: Date | null }) {
    return db.deviceCredential.create({ data, omit: noHash });
  }

  update(db: Db, tenantId: string, id: string, data: { enabled?: boolean; expiresAt?: Date | null; revokedAt?: Date }) {
    return db.deviceCredential.update({ where: { id, tenantId }, data, omit: noHash });
  }

  /** Replaces the password hash (rotation); the new hash, like the old, is not returned. */
  setPassword(db: Db, tenantId: string, id: string, passwordHash: string) {
    return db.deviceCredential.update({ where: { id, tenantId }, data: { passwordHash }, omit: noHash });
  }
}
