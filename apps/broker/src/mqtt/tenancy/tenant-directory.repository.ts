import { Injectable } from "@nestjs/common";
import type { Db } from "../../modules/database/database.service.ts";

/** The broker's read side of the control plane: the few queries CONNECT and authorization need. */
@Injectable()
export class TenantDirectoryRepository {
  tenantBySlug(db: Db, slug: string) {
    return db.tenant.findUnique({ where: { slug } });
  }

  credential(db: Db, tenantId: string, username: string) {
    return db.deviceCredential.findUnique({
      where: { tenantId_username: { tenantId, username } },
      include: { device: { select: { id: true, clientId: true, enabled: true } } },
    });
  }

  device(db: Db, tenantId: string, clientId: string) {
    return db.device.findUnique({ where: { tenantId_clientId: { tenantId, clientId } }, select: { id: true, clientId: true, enabled: true } });
  }

  certificateByFingerprint(db: Db, fingerprintSha256: string) {
    return db.deviceCertificate.findUnique({
      where: { fingerprintSha256 },
      include: {
        device: { select: { id: true, clientId: true, enabled: true } },
        tenant: { select: { slug: true } },
        authority: { select: { revokedAt: true, notAfter: true } },
      },
    });
  }

  /**
   * Rules of every role bound to the device directly or through one of its
   * groups, each with the binding that brought it (`via`, for the API's
   * access check). A role's rules come in the order the role API lists them.
   */
  async rulesForDevice(db: Db, tenantId: string, deviceId: string) {
    const groups = await db.deviceGroupMember.findMany({ where: { deviceId }, select: { groupId: true } });
    const bindings = await db.roleBinding.findMany({
      where: {
        tenantId,
        OR: [{ targetType: "device", targetId: deviceId }, ...(groups.length ? [{ targetType: "group" as const, targetId: { in: groups.map((g) => g.groupId) } }] : [])],
      },
      // Direct bindings first, so a role bound both ways is explained as the device's own.
      orderBy: [{ targetType: "asc" }, { createdAt: "asc" }, { id: "asc" }],
      include: { role: { include: { rules: { orderBy: [{ priority: "asc" }, { id: "asc" }] } } } },
    });
    return bindings.flatMap((b) =>
      b.role.rules.map((r) => ({ ...r, roleId: b.role.id, roleName: b.role.name, via: { kind: b.targetType, id: b.targetId } })),
    );
  }
}
