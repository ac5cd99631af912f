import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

const withCount = { _count: { select: { members: true } } } as const;

/** Every query carries tenantId: a group id from another tenant matches nothing. */
@Injectable()
export class GroupsRepository {
  async list(db: Db, tenantId: string, skip: number, take: number) {
    const where = { tenantId };
    const [items, total] = await Promise.all([
      db.deviceGroup.findMany({ where, orderBy: [{ name: "asc" }, { id: "asc" }], skip, take, include: withCount }),
      db.deviceGroup.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, id: string) {
    return db.deviceGroup.findFirst({ where: { id, tenantId }, include: withCount });
  }

  findByName(db: Db, tenantId: string, name: string) {
    return db.deviceGroup.findUnique({ where: { tenantId_name: { tenantId, name } } });
  }

  create(db: Db, data: { id: string; tenantId: string; name: string; description: string | null }) {
    return db.deviceGroup.create({ data, include: withCount });
  }

  update(db: Db, tenantId: string, id: string, data: { name?: string; description?: string | null }) {
    return db.deviceGroup.update({ where: { id, tenantId }, data, include: withCount });
  }

  /**
   * Role bindings point at groups by id without a foreign key (a binding's
   * target is a device or a group), so they are removed here, with the group,
   * rather than left to grant nothing to an id that no longer exists.
   */
  async delete(db: Db, tenantId: string, id: string) {
    const bindings = await db.roleBinding.findMany({ where: { tenantId, targetType: "group", targetId: id } });
    await db.roleBinding.deleteMany({ where: { tenantId, targetType: "group", targetId: id } });
    await db.deviceGroup.delete({ where: { id, tenantId } });
    return { bindings };
  }

  findMember(db: Db, groupId: string, deviceId: string) {
    return db.deviceGroupMember.findUnique({ where: { groupId_deviceId: { groupId, deviceId } } });
  }

  /** Callers check that the group and the device both belong to the tenant first. */
  addMember(db: Db, groupId: string, deviceId: string) {
    return db.deviceGroupMember.create({ data: { groupId, deviceId } });
  }

  removeMember(db: Db, groupId: string, deviceId: string) {
    return db.deviceGroupMember.delete({ where: { groupId_deviceId: { groupId, deviceId } } });
  }
}
