import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

export type TargetType = "device" | "group";

export interface BindingFilter {
  roleId?: string;
  targetType?: TargetType;
  targetId?: string;
}

/**
 * Every query carries tenantId. RoleBinding.targetId is not a foreign key
 * (it names a device or a group), so `targetExists` is what keeps a binding
 * from pointing into another tenant.
 */
@Injectable()
export class BindingsRepository {
  async list(db: Db, tenantId: string, f: BindingFilter, skip: number, take: number) {
    const where = { tenantId, ...f };
    const [items, total] = await Promise.all([
      db.roleBinding.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip, take }),
      db.roleBinding.count({ where }),
    ]);
    return { items, total };
  }

  find(db: Db, tenantId: string, id: string) {
    return db.roleBinding.findFirst({ where: { id, tenantId } });
  }

  findSame(db: Db, tenantId: string, roleId: string, targetType: TargetType, targetId: string) {
    return db.roleBinding.findFirst({ where: { tenantId, roleId, targetType, targetId } });
  }

  async targetExists(db: Db, tenantId: string, targetType: TargetType, targetId: string): Promise<boolean> {
    const where = { id: targetId, tenantId };
    const found = targetType === "device" ? await db.device.count({ where }) : await db.deviceGroup.count({ where });
    return found > 0;
  }

  create(db: Db, data: { id: string; tenantId: string; roleId: string; targetType: TargetType; targetId: string }) {
    return db.roleBinding.create({ data });
  }

  delete(db: Db, id: string) {
    return db.roleBinding.delete({ where: { id } });
  }
}
