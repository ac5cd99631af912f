import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

/** One tenant's traffic of one minute, as the recorder closes it (slug: the tenant is resolved when written). */
export interface MinuteRow {
  slug: string;
  /** Start of the minute, ms since epoch. */
  minute: number;
  connections: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  drops: number;
  denials: number;
}

export interface EventRow {
  slug: string;
  at: number;
  type: "connected" | "disconnected" | "auth_failed" | "kicked";
  clientId: string;
  username: string | null;
  address: string | null;
  reason: string | null;
}

export interface EventQuery {
  clientId?: string | undefined;
  type?: EventRow["type"] | undefined;
  skip: number;
  take: number;
}

/** Rows per statement: the whole batch travels as one JSON parameter, so this only bounds statement size. */
const CHUNK = 2000;

function chunks<T>(rows: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

/**
 * Monitoring tables: `tenant_stats_minute` and `connection_event`. Writes are
 * batches sent as one JSON parameter and joined to tenants by slug, so a row
 * of a tenant deleted meanwhile is skipped instead of failing the batch.
 */
@Injectable()
export class MonitoringRepository {
  /**
   * Adds minute rows; a minute already written (another broker process, or a
   * retry after a partial failure elsewhere) is summed, since each process
   * writes each of its minutes once.
   */
  async addMinutes(db: Db, rows: MinuteRow[]): Promise<void> {
    for (const part of chunks(rows)) {
      const json = JSON.stringify(part.map((r) => ({ ...r, minute: new Date(r.minute).toISOString() })));
      await db.$executeRawUnsafe(
        `INSERT INTO tenant_stats_minute ("tenantId", minute, connections, "messagesIn", "messagesOut", "bytesIn", "bytesOut", drops, denials)
         SELECT t.id, v.minute, v.connections, v."messagesIn", v."messagesOut", v."bytesIn", v."bytesOut", v.drops, v.denials
         FROM jsonb_to_recordset($1::jsonb) AS v(slug text, minute timestamptz, connections int, "messagesIn" bigint, "messagesOut" bigint,
                                                  "bytesIn" bigint, "bytesOut" bigint, drops bigint, denials bigint)
         JOIN "Tenant" t ON t.slug = v.slug
         ON CONFLICT ("tenantId", minute) DO UPDATE SET
           connections = tenant_stats_minute.connections + EXCLUDED.connections,
           "messagesIn" = tenant_stats_minute."messagesIn" + EXCLUDED."messagesIn",
           "messagesOut" = tenant_stats_minute."messagesOut" + EXCLUDED."messagesOut",
           "bytesIn" = tenant_stats_minute."bytesIn" + EXCLUDED."bytesIn",
           "bytesOut" = tenant_stats_minute."bytesOut" + EXCLUDED."bytesOut",
           drops = tenant_stats_minute.drops + EXCLUDED.drops,
           denials = tenant_stats_minute.denials + EXCLUDED.denials`,
        json,
      );
    }
  }

  async deleteMinutesBefore(db: Db, before: Date): Promise<number> {
    return db.tenantStatsMinute.deleteMany({ where: { minute: { lt: before } } }).then((r) => r.count);
  }

  async minutes(db: Db, tenantId: string, since: Date) {
    return db.tenantStatsMinute.findMany({ where: { tenantId, minute: { gte: since } }, orderBy: { minute: "asc" } });
  }

  async addEvents(db: Db, rows: EventRow[]): Promise<void> {
    for (const part of chunks(rows)) {
      const json = JSON.stringify(part.map((r) => ({ ...r, at: new Date(r.at).toISOString() })));
      await db.$executeRawUnsafe(
        `INSERT INTO connection_event ("tenantId", at, type, "clientId", username, address, reason)
         SELECT t.id, v.at, v.type, v."clientId", v.username, v.address, v.reason
         FROM jsonb_to_recordset($1::jsonb) AS v(slug text, at timestamptz, type text, "clientId" text, username text, address text, reason text)
         JOIN "Tenant" t ON t.slug = v.slug`,
        json,
      );
    }
  }

  async events(db: Db, tenantId: string, q: EventQuery) {
    const where = { tenantId, ...(q.clientId !== undefined ? { clientId: q.clientId } : {}), ...(q.type !== undefined ? { type: q.type } : {}) };
    const [items, total] = await Promise.all([
      db.connectionEvent.findMany({ where, orderBy: { id: "desc" }, skip: q.skip, take: q.take }),
      db.connectionEvent.count({ where }),
    ]);
    return { items, total };
  }

  async deleteEventsBefore(db: Db, before: Date): Promise<number> {
    return db.connectionEvent.deleteMany({ where: { at: { lt: before } } }).then((r) => r.count);
  }

  /** Keeps the newest `keep` events of the tenant (by slug); returns how many older ones were deleted. */
  async capEvents(db: Db, slug: string, keep: number): Promise<number> {
    return db.$executeRawUnsafe(
      `DELETE FROM connection_event
       WHERE "tenantId" = (SELECT id FROM "Tenant" WHERE slug = $1)
         AND id <= (SELECT e.id FROM connection_event e JOIN "Tenant" t ON t.id = e."tenantId"
                    WHERE t.slug = $1 ORDER BY e.id DESC OFFSET $2 LIMIT 1)`,
      slug,
      keep,
    );
  }

  async tenantSlugs(db: Db): Promise<string[]> {
    const rows = await db.tenant.findMany({ select: { slug: true }, orderBy: { slug: "asc" } });
    return rows.map((r) => r.slug);
  }
}
