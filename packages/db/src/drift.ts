// Compares schema.prisma with what the database or the migrations really
// contain, so a model edited without a migration is caught in tests and at
// start-up instead of failing at the first query that touches it.
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { DiffTarget } from "@prisma/schema-engine-wasm";
import { startInMemoryPostgres } from "./embedded.ts";
import { LOCKFILE_CONTENT, readMigrations } from "./migrations.ts";
import { DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH } from "./paths.ts";
import { NO_FILTER, withSchemaEngine, type SchemaEngine } from "./schema-engine.ts";

export interface SchemaSource {
  /** schema.prisma file; defaults to the repository's prisma/schema.prisma. */
  schemaPath?: string;
  /** schema.prisma text, used instead of reading `schemaPath`. */
  schema?: string;
}

export interface DiffMigrationsOptions extends SchemaSource {
  /** Defaults to the repository's prisma/migrations. */
  migrationsDir?: string;
}

interface LoadedSchema {
  path: string;
  content: string;
  files: { path: string; content: string }[];
}

async function loadSchema(source: SchemaSource): Promise<LoadedSchema> {
  const path = source.schemaPath ?? DEFAULT_SCHEMA_PATH;
  const content = source.schema ?? (await readFile(path, "utf8"));
  return { path, content, files: [{ path: basename(path), content }] };
}

async function diffScript(engine: SchemaEngine, from: DiffTarget, to: DiffTarget): Promise<string> {
  const result = await engine.diff({ from, to, script: true, exitCode: true, filters: NO_FILTER });
  return result.exitCode === 2 ? (result.stdout ?? "") : "";
}

/**
 * SQL that would bring the migrated database at `connectionString` to the
 * schema: an empty string when they match, otherwise the missing changes.
 */
export async function checkDrift(connectionString: string, source: SchemaSource = {}): Promise<string> {
  const { path, content, files } = await loadSchema(source);
  return withSchemaEngine({ connectionString, schema: content, schemaPath: path }, (engine) =>
    diffScript(engine, { tag: "schemaDatasource", files, configDir: dirname(path) }, { tag: "schemaDatamodel", files }),
  );
}

/**
 * SQL of the migration still to be written: the difference between what the
 * migrations folder builds and the schema. The migrations are replayed on a
 * throw-away in-memory PGlite (both the engine's database and its shadow), so
 * no database server is needed.
 */
export async function diffMigrations(options: DiffMigrationsOptions = {}): Promise<string> {
  const { path, content, files } = await loadSchema(options);
  const migrationsList = await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  migrationsList.lockfile.content ??= LOCKFILE_CONTENT;
  const from: DiffTarget = { tag: "migrations", ...migrationsList };
  const scratch = await startInMemoryPostgres();
  try {
    const url = scratch.connectionString;
    return await withSchemaEngine(
      { connectionString: url, shadowDatabaseUrl: url, schema: content, schemaPath: path },
      (engine) => diffScript(engine, from, { tag: "schemaDatamodel", files }),
    );
  } finally {
    await scratch.close();
  }
}
