import { Injectable } from "@nestjs/common";
import type { TenantRole } from "@halyard/api-contract";
import type { Db } from "../database/database.service.ts";

const noHash = { keyHash: true } as const;

/**
 * Tenant keys and platform keys share the table; `tenantId` null means a
 * platform key. Every query is scoped by it, so a tenant's key is not found
 * under another tenant nor among the platform's keys, and the reverse.
 */
@Injectable()
export class ApiKeysRepository {
  async list(db: Db, tenantId: string | null, skip: number, take: number) {
    const where = { tenantId };
    const [items, total] = await Promise.all([
      db.apiKey.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip, take, omit: noHash }),
      db.apiKey.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string | null, id: string) {
    return db.apiKey.findFirst({ where: { id, tenantId }, omit: noHash });
  }

  create(
    db: Db,
    data: { id: string; tenantId: string | null; name: string; prefix: string; keyHash: string; role: TenantRole | null; platformAdmin: boolean; expiresAt: Date | null },
  ) {
    return db.apiKey.create({ data, omit: noHash });
  }

  revoke(db: Db, tenantId: string | null, id: string) {
    return db.apiKey.update({ where: { id, tenantId }, data: { revokedAt: new Date() }, omit: noHash });
  }
}
