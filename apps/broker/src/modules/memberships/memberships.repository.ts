import { Injectable } from "@nestjs/common";
import type { TenantRole } from "@halyard/api-contract";
import type { Db } from "../database/database.service.ts";

/** Only the public fields of a user: never its password hash or platform role. */
const withUser = { user: { select: { id: true, issuer: true, subject: true, email: true, displayName: true } } } as const;

/** Every membership query carries tenantId: a user's membership elsewhere matches nothing. */
@Injectable()
export class MembershipsRepository {
  async list(db: Db, tenantId: string, skip: number, take: number) {
    const where = { tenantId };
    const [items, total] = await Promise.all([
      db.membership.findMany({ where, orderBy: [{ createdAt: "asc" }, { userId: "asc" }], skip, take, include: withUser }),
      db.membership.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, userId: string) {
    return db.membership.findUnique({ where: { userId_tenantId: { userId, tenantId } }, include: withUser });
  }

  findUser(db: Db, issuer: string, subject: string) {
    return db.user.findUnique({ where: { issuer_subject: { issuer, subject } }, select: { id: true } });
  }

  /** A user known only by issuer and subject until they first sign in (AuthService fills in the rest). */
  createUser(db: Db, data: { id: string; issuer: string; subject: string; email: string | null }) {
    return db.user.create({ data, select: { id: true } });
  }

  create(db: Db, data: { userId: string; tenantId: string; role: TenantRole }) {
    return db.membership.create({ data, include: withUser });
  }

  update(db: Db, tenantId: string, userId: string, role: TenantRole) {
    return db.membership.update({ where: { userId_tenantId: { userId, tenantId } }, data: { role }, include: withUser });
  }

  delete(db: Db, tenantId: string, userId: string) {
    return db.membership.delete({ where: { userId_tenantId: { userId, tenantId } } });
  }
}
