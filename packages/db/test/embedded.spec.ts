// @halyard/db on the embedded PostgreSQL (PGlite served over a socket): the
// same migration, drift and CRUD checks as on the server, persistence across
// a restart, and clear errors for unusable data folders.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkDrift,
  createPrismaClient,
  EmbeddedPostgresError,
  migrate,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from "../src/index.ts";
import { crudSmoke, query, schemaWithUnmigratedColumn } from "./helpers.ts";

describe("on the embedded PostgreSQL", () => {
  const root = mkdtempSync(join(tmpdir(), "halyard-db-test-"));
  const dataDir = join(root, "pgdata");
  let pglite: EmbeddedPostgres;
  let firstRun: string[];

  beforeAll(async () => {
    pglite = await startEmbeddedPostgres({ dataDir });
    firstRun = await migrate(pglite.connectionString);
  });

  afterAll(async () => {
    await pglite?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("applies every migration to a fresh folder", async () => {
    expect(firstRun.length).toBeGreaterThan(0);
    expect(firstRun[0]).toMatch(/^\d{14}_init$/);
    const rows = await query<{ migration_name: string; finished_at: Date | null }>(
      pglite.connectionString,
      "SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY started_at",
    );
    expect(rows.map((r) => r.migration_name)).toEqual(firstRun);
    expect(rows[0]?.finished_at).toBeInstanceOf(Date);
  });

  it("finds no drift, and reports a model change that has no migration", async () => {
    expect(await checkDrift(pglite.connectionString)).toBe("");
    expect(await checkDrift(pglite.connectionString, { schema: schemaWithUnmigratedColumn() })).toContain(
      '"firmwareVersion" VARCHAR(64)',
    );
  });

  it("serves CRUD through the generated client, with P2002 on a duplicate clientId", async () => {
    const prisma = createPrismaClient(pglite.connectionString);
    try {
      await crudSmoke(prisma);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("keeps its data across a restart, where migrate applies nothing", async () => {
    await query(pglite.connectionString, "CREATE TABLE survives_restart (n int); INSERT INTO survives_restart VALUES (42)");
    await pglite.close();
    pglite = await startEmbeddedPostgres({ dataDir });
    expect(await migrate(pglite.connectionString)).toEqual([]);
    expect(await query(pglite.connectionString, "SELECT n FROM survives_restart")).toEqual([{ n: 42 }]);
  });

  it("refuses a folder that is already open", async () => {
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/already open by this process/);
  });

  it("refuses a path that is a file, or a folder holding something else", async () => {
    const file = join(root, "a-file");
    writeFileSync(file, "not a database");
    await expect(startEmbeddedPostgres({ dataDir: file })).rejects.toThrow(EmbeddedPostgresError);
    await expect(startEmbeddedPostgres({ dataDir: file })).rejects.toThrow(/is not a directory/);

    const other = join(root, "other");
    mkdirSync(other);
    writeFileSync(join(other, "notes.txt"), "hello");
    await expect(startEmbeddedPostgres({ dataDir: other })).rejects.toThrow(/not empty and holds no database/);
  });
});
