import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export interface AuditEntry {
  actor: string;
  tenantId: string | null;
  action: string;
  resource: string;
  resourceId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface AuditQuery {
  tenantId?: string | null;
  resource?: string;
  actor?: string;
  since?: Date;
  skip: number;
  take: number;
}

/** Append-only: this class has no update or delete, and nothing else writes the table. */
@Injectable()
export class AuditRepository {
  async append(db: Db, entry: AuditEntry): Promise<void> {
    await db.auditEvent.create({
      data: {
        actor: entry.actor,
        tenantId: entry.tenantId,
        action: entry.action,
        resource: entry.resource,
        resourceId: entry.resourceId,
        before: entry.before === null || entry.before === undefined ? undefined : (entry.before as object),
        after: entry.after === null || entry.after === undefined ? undefined : (entry.after as object),
        requestId: entry.requestId,
      },
    });
  }

  async list(db: Db, q: AuditQuery) {
    const where = {
      ...(q.tenantId !== undefined ? { tenantId: q.tenantId } : {}),
      ...(q.resource ? { resource: q.resource } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      ...(q.since ? { at: { gte: q.since } } : {}),
    };
    const [items, total] = await Promise.all([
      db.auditEvent.findMany({ where, orderBy: { id: "desc" }, skip: q.skip, take: q.take }),
      db.auditEvent.count({ where }),
    ]);
    return { items, total };
  }
}
