import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export const QUOTA_FIELDS = [
  "maxConnections",
  "maxSubscriptionsPerClient",
  "maxMessagesPerSecond",
  "maxBytesPerSecond",
  "maxRetainedMessages",
  "maxQueuedMessages",
  "maxPacketSize",
] as const;

export type Quotas = Partial<Record<(typeof QUOTA_FIELDS)[number], number | null>>;

@Injectable()
export class TenantsRepository {
  findBySlug(db: Db, slug: string) {
    return db.tenant.findUnique({ where: { slug } });
  }

  async list(db: Db, opts: { q?: string; slugs?: string[]; skip: number; take: number }) {
    const where = {
      ...(opts.q ? { OR: [{ slug: { contains: opts.q } }, { name: { contains: opts.q, mode: "insensitive" as const } }] } : {}),
      ...(opts.slugs ? { slug: { in: opts.slugs } } : {}),
    };
    const [items, total] = await Promise.all([
      db.tenant.findMany({ where, orderBy: { slug: "asc" }, skip: opts.skip, take: opts.take }),
      db.tenant.count({ where }),
    ]);
    return { items, total };
  }

  create(db: Db, data: { id: string; slug: string; name: string } & Quotas) {
    return db.tenant.create({ data });
  }

  update(db: Db, id: string, data: { name?: string; status?: "active" | "suspended" } & Quotas) {
    return db.tenant.update({ where: { id }, data });
  }

  delete(db: Db, id: string) {
    return db.tenant.delete({ where: { id } });
  }
}
