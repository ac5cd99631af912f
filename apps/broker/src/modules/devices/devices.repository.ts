import { Injectable } from "@nestjs/common";
import { Prisma } from "@halyard/db";
import type { Db } from "../database/database.service.ts";

export interface DeviceFilter {
  q?: string;
  tag?: string;
  enabled?: boolean;
  groupId?: string;
  /** Only devices whose client id is (true) or is not (false) in `clientIds`: the live connections. */
  connected?: { is: boolean; clientIds: string[] };
}

/** One device of a bulk import, with the groups it joins and its credential, if any. */
export interface ImportRow {
  id: string;
  clientId: string;
  description: string | null;
  tags: string[];
  groupIds: string[];
  credential?: { id: string; username: string; passwordHash: string };
}

const withGroups = { groups: { select: { groupId: true } } } as const;

/** Every query carries tenantId: a device id from another tenant matches nothing. */
@Injectable()
export class DevicesRepository {
  /**
   * Filtered in SQL because of `connected`: the live client ids go in as one
   * array parameter (`= ANY($n)`), where Prisma's `in` would spend one bind
   * parameter per id and fail past Postgres's 32,767 (a broker holds more
   * connections than that). The page's rows are then read through Prisma.
   */
  async list(db: Db, tenantId: string, f: DeviceFilter, skip: number, take: number) {
    const conditions: Prisma.Sql[] = [Prisma.sql`d."tenantId" = ${tenantId}::uuid`];
    if (f.q) {
      // As Prisma's `contains` (case-sensitive on the client id) and `contains`, insensitive, on the description.
      const like = `%${f.q.replace(/[\\%_]/g, (c) => "\\" + c)}%`;
      conditions.push(Prisma.sql`(d."clientId" LIKE ${like} OR d."description" ILIKE ${like})`);
    }
    if (f.tag) conditions.push(Prisma.sql`${f.tag} = ANY(d."tags")`);
    if (f.enabled !== undefined) conditions.push(Prisma.sql`d."enabled" = ${f.enabled}`);
    if (f.groupId) conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM "DeviceGroupMember" m WHERE m."deviceId" = d."id" AND m."groupId" = ${f.groupId}::uuid)`);
    if (f.connected) {
      const ids = Prisma.sql`${f.connected.clientIds}::varchar[]`;
      conditions.push(f.connected.is ? Prisma.sql`d."clientId" = ANY(${ids})` : Prisma.sql`NOT (d."clientId" = ANY(${ids}))`);
    }
    const where = Prisma.join(conditions, " AND ");
    const [page, counted] = await Promise.all([
      db.$queryRaw<{ id: string }[]>`SELECT d."id" FROM "Device" d WHERE ${where} ORDER BY d."createdAt" ASC, d."id" ASC LIMIT ${take} OFFSET ${skip}`,
      db.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS "total" FROM "Device" d WHERE ${where}`,
    ]);
    const ids = page.map((r) => r.id);
    const rows = ids.length ? await db.device.findMany({ where: { tenantId, id: { in: ids } }, include: withGroups }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const items = ids.map((id) => byId.get(id)).filter((r) => r !== undefined);
    return { items, total: counted[0]?.total ?? 0 };
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

  /** Which of these client ids are taken in the tenant. */
  async existingClientIds(db: Db, tenantId: string, clientIds: string[]): Promise<Set<string>> {
    const rows = await db.$queryRaw<{ clientId: string }[]>`
      SELECT "clientId" FROM "Device" WHERE "tenantId" = ${tenantId}::uuid AND "clientId" = ANY(${clientIds}::varchar[])`;
    return new Set(rows.map((r) => r.clientId));
  }

  /** Which of these usernames are taken by a credential of the tenant (revoked ones included: usernames are never reused). */
  async takenUsernames(db: Db, tenantId: string, usernames: string[]): Promise<Set<string>> {
    const rows = await db.$queryRaw<{ username: string }[]>`
      SELECT "username" FROM "DeviceCredential" WHERE "tenantId" = ${tenantId}::uuid AND "username" = ANY(${usernames}::varchar[])`;
    return new Set(rows.map((r) => r.username));
  }

  /** The tenant's groups by name (every group: a tenant has few). */
  async groupIdsByName(db: Db, tenantId: string): Promise<Map<string, string>> {
    const rows = await db.deviceGroup.findMany({ where: { tenantId }, select: { id: true, name: true } });
    return new Map(rows.map((g) => [g.name, g.id]));
  }

  /**
   * Inserts a validated import: devices, group memberships and credentials,
   * one statement each with one array parameter per column (Prisma's
   * createMany costs about 0.2 ms a row, which 10,000 rows would spend inside
   * the transaction). Tags travel as JSON text because Postgres arrays cannot
   * be ragged.
   */
  async insertImport(db: Db, tenantId: string, rows: ImportRow[]): Promise<void> {
    if (rows.length === 0) return;
    await db.$executeRaw`
      INSERT INTO "Device" ("id", "tenantId", "clientId", "description", "tags", "enabled", "createdAt", "updatedAt")
      SELECT r.id, ${tenantId}::uuid, r.client_id, r.description,
             ARRAY(SELECT jsonb_array_elements_text(r.tags::jsonb)), true, now(), now()
      FROM unnest(
        ${rows.map((r) => r.id)}::uuid[],
        ${rows.map((r) => r.clientId)}::varchar[],
        ${rows.map((r) => r.description)}::varchar[],
        ${rows.map((r) => JSON.stringify(r.tags))}::text[]
      ) WITH ORDINALITY AS r(id, client_id, description, tags, n)
      ORDER BY r.n`;
    const members = rows.flatMap((r) => r.groupIds.map((groupId) => ({ groupId, deviceId: r.id })));
    if (members.length > 0) {
      await db.$executeRaw`
        INSERT INTO "DeviceGroupMember" ("groupId", "deviceId")
        SELECT * FROM unnest(${members.map((m) => m.groupId)}::uuid[], ${members.map((m) => m.deviceId)}::uuid[])`;
    }
    const creds = rows.filter((r) => r.credential).map((r) => ({ deviceId: r.id, ...(r.credential as NonNullable<ImportRow["credential"]>) }));
    if (creds.length > 0) {
      await db.$executeRaw`
        INSERT INTO "DeviceCredential" ("id", "tenantId", "deviceId", "username", "passwordHash", "enabled", "createdAt")
        SELECT c.id, ${tenantId}::uuid, c.device_id, c.username, c.hash, true, now()
        FROM unnest(
          ${creds.map((c) => c.id)}::uuid[],
          ${creds.map((c) => c.deviceId)}::uuid[],
          ${creds.map((c) => c.username)}::varchar[],
          ${creds.map((c) => c.passwordHash)}::text[]
        ) AS c(id, device_id, username, hash)`;
    }
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
