import { Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";

/** The few reads the access check needs besides the broker's own rule query; every one carries tenantId. */
@Injectable()
export class AccessCheckRepository {
  /** Usernames of the device's credentials that are not revoked, oldest first. */
  async usernames(db: Db, tenantId: string, deviceId: string): Promise<string[]> {
    const rows = await db.deviceCredential.findMany({
      where: { tenantId, deviceId, revokedAt: null },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: { username: true },
    });
    return rows.map((r) => r.username);
  }

  async groupName(db: Db, tenantId: string, id: string): Promise<string | undefined> {
    return (await db.deviceGroup.findFirst({ where: { id, tenantId }, select: { name: true } }))?.name;
  }
}
