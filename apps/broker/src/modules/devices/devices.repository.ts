import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export interface DeviceFilter {
  q?: string;
  tag?: string;
  enabled?: boolean;
  groupId?: string;
}

const withGroups = { groups: { select: { groupId: true } } } as const;

/** Every query carries tenantId: a device id from another tenant matches nothing. */
@Injectable()
export class DevicesRepository {
  async list(db: Db, tenantId: string, f: DeviceFilter, skip: number, take: number) {
    const where = {
      tenantId,
      ...(f.q ? { OR: [{ clientId: { contains: f.q } }, { description: { contains: f.q, mode: "insensitive" as const } }] } : {}),
      ...(f.tag ? { tags: { has: f.tag } } : {}),
      ...(f.enabled !== undefined ? { enabled: f.enabled } : {}),
      ...(f.groupId ? { groups: { some: { groupId: f.groupId } } } : {}),
    };
    const [items, total] = await Promise.all([
      db.device.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip, take, include: withGroups }),
      db.device.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, id: string) {
    return db.device.findFirst({ where: { id, tenantId }, include: withGroups });
  }

  findByClientId(db: Db, tenantId: string, clientId: string) {
    return db.device.findUnique({ where: { tenantId_clientId: { tenantId, clientId } }, include: withGroups });
  }

  create(db: Db, data: { id: string; tenantId: string; clientId: string; description: string | null; tags: string[]; enabled: boolean }) {
    return db.device.create({ data, include: withGroups });
  }

  update(db: Db, id: string, data: { description?: string | null; tags?: string[]; enabled?: boolean }) {
    return db.device.update({ where: { id }, data, include: withGroups });
  }

  /**
   * Role bindings point at devices by id without a foreign key (a binding's
   * target is a device or a group), so they are removed here, with the device,
   * rather than left behind for an id that no longer exists.
   */
  async delete(db: Db, tenantId: string, id: string) {
    const bindings = await db.roleBinding.findMany({ where: { tenantId, targetType: "device", targetId: id } });
    await db.roleBinding.deleteMany({ where: { tenantId, targetType: "device", targetId: id } });
    await db.device.delete({ where: { id, tenantId } });
    return { bindings };
  }
}
