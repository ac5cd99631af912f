import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export const LOCAL_ISSUER = "local";

@Injectable()
export class UsersRepository {
  findLocal(db: Db, username: string) {
    return db.user.findUnique({ where: { issuer_subject: { issuer: LOCAL_ISSUER, subject: username } } });
  }

  countLocal(db: Db) {
    return db.user.count({ where: { issuer: LOCAL_ISSUER } });
  }

  createLocalAdmin(db: Db, id: string, username: string, passwordHash: string) {
    return db.user.create({
      data: { id, issuer: LOCAL_ISSUER, subject: username, displayName: username, platformRole: "platform_admin", passwordHash },
    });
  }

  findById(db: Db, id: string) {
    return db.user.findUnique({ where: { id }, include: { memberships: { include: { tenant: { select: { slug: true } } } } } });
  }

  /** The row of an OIDC user, created on first sight so memberships can point at it. */
  upsertOidc(db: Db, id: string, issuer: string, subject: string, email: string | undefined, displayName: string | undefined) {
    return db.user.upsert({
      where: { issuer_subject: { issuer, subject } },
      create: { id, issuer, subject, email: email ?? null, displayName: displayName ?? null, lastLoginAt: new Date() },
      update: { email: email ?? null, displayName: displayName ?? null },
      include: { memberships: { include: { tenant: { select: { slug: true } } } } },
    });
  }

  touchLogin(db: Db, id: string) {
    return db.user.update({ where: { id }, data: { lastLoginAt: new Date() } });
  }

  findApiKeyByPrefix(db: Db, prefix: string) {
    return db.apiKey.findUnique({ where: { prefix }, include: { tenant: { select: { slug: true, status: true } } } });
  }

  touchApiKey(db: Db, id: string) {
    return db.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
