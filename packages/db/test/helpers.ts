// Shared fixtures for the @halyard/db tests: throw-away databases on the real
// PostgreSQL server, the schema text with one unmigrated change, and a CRUD
// smoke run that works on any migrated database.
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { expect } from "vitest";
import { DEFAULT_SCHEMA_PATH, Prisma, type PrismaClient } from "../src/index.ts";

export const SERVER_URL = process.env.HALYARD_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  connectionString: string;
  drop(): Promise<void>;
}

export async function createServerDatabase(): Promise<TestDatabase> {
  const name = `halyard_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return {
    connectionString: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: SERVER_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function query<T extends pg.QueryResultRow>(connectionString: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

export const SCHEMA_TEXT = readFileSync(DEFAULT_SCHEMA_PATH, "utf8");

/** schema.prisma with a column added to Device and no migration for it. */
export function schemaWithUnmigratedColumn(): string {
  const anchor = "  enabled     Boolean  @default(true)\n";
  const deviceStart = SCHEMA_TEXT.indexOf("model Device {");
  const at = SCHEMA_TEXT.indexOf(anchor, deviceStart);
  if (deviceStart < 0 || at < 0) throw new Error("schema.prisma changed: update schemaWithUnmigratedColumn()");
  return `${SCHEMA_TEXT.slice(0, at)}  firmwareVersion String? @db.VarChar(64)\n${SCHEMA_TEXT.slice(at)}`;
}

export async function crudSmoke(prisma: PrismaClient): Promise<void> {
  const tenant = await prisma.tenant.create({
    data: { id: randomUUID(), slug: `t-${randomBytes(4).toString("hex")}`, name: "Acme" },
  });
  const device = await prisma.device.create({
    data: {
      id: randomUUID(),
      tenantId: tenant.id,
      clientId: "sensor-1",
      tags: ["lab", "floor-2"],
      credentials: {
        create: { id: randomUUID(), tenantId: tenant.id, username: "sensor-1", passwordHash: "$argon2id$stub" },
      },
    },
    include: { credentials: true },
  });
  expect(device.credentials).toHaveLength(1);
  expect(device.tags).toEqual(["lab", "floor-2"]);
  expect(tenant.status).toBe("active");

  const duplicate = prisma.device.create({ data: { id: randomUUID(), tenantId: tenant.id, clientId: "sensor-1" } });
  await expect(duplicate).rejects.toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
  await expect(duplicate).rejects.toMatchObject({ code: "P2002" });

  const found = await prisma.tenant.findUniqueOrThrow({
    where: { id: tenant.id },
    include: { devices: { include: { credentials: true } } },
  });
  expect(found.devices.map((d) => d.clientId)).toEqual(["sensor-1"]);
  expect(found.devices[0]?.credentials[0]?.username).toBe("sensor-1");

  await prisma.tenant.delete({ where: { id: tenant.id } });
  expect(await prisma.deviceCredential.count({ where: { tenantId: tenant.id } })).toBe(0);
}
