import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export type Direction = "in" | "out" | "both";

export interface BridgeData {
  name?: string;
  remoteUrl?: string;
  direction?: Direction;
  localFilter?: string;
  remotePrefix?: string | null;
  enabled?: boolean;
}

/** Every query carries tenantId: a bridge id from another tenant matches nothing. */
@Injectable()
export class BridgesRepository {
  async list(db: Db, tenantId: string, skip: number, take: number) {
    const where = { tenantId };
    const [items, total] = await Promise.all([
      db.bridge.findMany({ where, orderBy: [{ name: "asc" }, { id: "asc" }], skip, take }),
      db.bridge.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, id: string) {
    return db.bridge.findFirst({ where: { id, tenantId } });
  }

  findByName(db: Db, tenantId: string, name: string) {
    return db.bridge.findUnique({ where: { tenantId_name: { tenantId, name } }, select: { id: true } });
  }

  create(db: Db, data: Required<Omit<BridgeData, "remotePrefix">> & { id: string; tenantId: string; remotePrefix: string | null }) {
    return db.bridge.create({ data });
  }

  update(db: Db, id: string, data: BridgeData) {
    return db.bridge.update({ where: { id }, data });
  }

  delete(db: Db, id: string) {
    return db.bridge.delete({ where: { id } });
  }
}
