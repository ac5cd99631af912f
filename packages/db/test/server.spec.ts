// @halyard/db against the real PostgreSQL server: migrations, their
// bookkeeping, drift detection and the generated client on a fresh database.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDrift, createPrismaClient, DEFAULT_MIGRATIONS_DIR, migrate } from "../src/index.ts";
import { createServerDatabase, crudSmoke, query, schemaWithUnmigratedColumn, type TestDatabase } from "./helpers.ts";

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

describe("on the PostgreSQL server", () => {
  let db: TestDatabase;
  let firstRun: string[];
  const logged: string[] = [];

  beforeAll(async () => {
    db = await createServerDatabase();
    firstRun = await migrate(db.connectionString, { log: (line) => logged.push(line) });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it("applies every migration to a fresh database, then nothing on the second run", async () => {
    expect(firstRun.length).toBeGreaterThan(0);
    expect(firstRun[0]).toMatch(/^\d{14}_init$/);
    expect(logged).toContain(`applied migration ${firstRun[0]}`);
    expect(await migrate(db.connectionString)).toEqual([]);
  });

  it("records the migrations in _prisma_migrations as prisma migrate deploy does", async () => {
    const rows = await query<MigrationRow>(
      db.connectionString,
      "SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY started_at",
    );
    expect(rows.map((r) => r.migration_name)).toEqual(firstRun);
    const init = rows[0]!;
    const sql = readFileSync(join(DEFAULT_MIGRATIONS_DIR, init.migration_name, "migration.sql"));
    expect(init.checksum).toBe(createHash("sha256").update(sql).digest("hex"));
    expect(init.finished_at).toBeInstanceOf(Date);
    expect(init.rolled_back_at).toBeNull();
    expect(init.applied_steps_count).toBe(1);
  });

  it("finds no drift between the migrated database and schema.prisma", async () => {
    expect(await checkDrift(db.connectionString)).toBe("");
  });

  it("reports a model change that has no migration", async () => {
    const drift = await checkDrift(db.connectionString, { schema: schemaWithUnmigratedColumn() });
    expect(drift).toContain('ALTER TABLE "Device" ADD COLUMN');
    expect(drift).toContain('"firmwareVersion" VARCHAR(64)');
  });

  it("applies each migration once when several instances start together", async () => {
    const other = await createServerDatabase();
    try {
      const runs = await Promise.all([1, 2, 3].map(() => migrate(other.connectionString)));
      expect(runs.flat()).toEqual(firstRun);
    } finally {
      await other.drop();
    }
  });

  it("serves CRUD through the generated client, with P2002 on a duplicate clientId", async () => {
    const prisma = createPrismaClient(db.connectionString);
    try {
      await crudSmoke(prisma);
    } finally {
      await prisma.$disconnect();
    }
  });
});
