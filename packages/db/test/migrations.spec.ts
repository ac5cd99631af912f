// The migrations folder must build exactly schema.prisma: this fails whenever
// someone edits the data model without running `npm run db:migration`.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createMigration, DEFAULT_MIGRATIONS_DIR, diffMigrations } from "../src/index.ts";
import { LOCKFILE_CONTENT } from "../src/migrations.ts";
import { schemaWithUnmigratedColumn } from "./helpers.ts";

describe("migrations folder", () => {
  const root = mkdtempSync(join(tmpdir(), "halyard-migrations-test-"));

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("matches schema.prisma (run `npm run db:migration -w @halyard/db -- <name>` if not)", async () => {
    expect(await diffMigrations()).toBe("");
    expect(readFileSync(join(DEFAULT_MIGRATIONS_DIR, "migration_lock.toml"), "utf8")).toBe(LOCKFILE_CONTENT);
  });

  it("writes the missing migration for a changed schema, then has nothing more to write", async () => {
    const dir = join(root, "migrations");
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    const schema = schemaWithUnmigratedColumn();

    const created = await createMigration("add device firmware", { migrationsDir: dir, schema });
    expect(created?.name).toMatch(/^\d{14}_add_device_firmware$/);
    expect(created?.sql).toContain('ALTER TABLE "Device" ADD COLUMN');
    expect(existsSync(join(dir, created!.name, "migration.sql"))).toBe(true);

    expect(await createMigration("again", { migrationsDir: dir, schema })).toBeUndefined();
  });
});
