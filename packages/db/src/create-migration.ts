// Writes the next migration from the difference between the migrations folder
// and schema.prisma: the `prisma migrate dev --create-only` of this repository,
// without needing a database server.
import { DEFAULT_MIGRATIONS_DIR } from "./paths.ts";
import { diffMigrations, type DiffMigrationsOptions } from "./drift.ts";
import { writeMigration } from "./migrations.ts";

export interface CreatedMigration {
  /** Folder name, `<timestamp>_<name>`. */
  name: string;
  sql: string;
}

/** Creates `<migrationsDir>/<timestamp>_<name>/migration.sql`; returns undefined when the schema has no change. */
export async function createMigration(
  name: string,
  options: DiffMigrationsOptions = {},
): Promise<CreatedMigration | undefined> {
  const sql = await diffMigrations(options);
  if (!sql) return undefined;
  const folder = await writeMigration(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR, name, sql);
  return { name: folder, sql };
}
