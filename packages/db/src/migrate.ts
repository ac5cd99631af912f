// Brings a database up to date at start-up, exactly as `prisma migrate deploy`
// would: same migration files, same `_prisma_migrations` bookkeeping and
// advisory lock, run by the WebAssembly schema engine.
import { DEFAULT_MIGRATIONS_DIR } from "./paths.ts";
import { readMigrations } from "./migrations.ts";
import { NO_FILTER, withSchemaEngine } from "./schema-engine.ts";

export interface MigrateOptions {
  /** Progress messages, one line each. */
  log?: (message: string) => void;
  /** Folder of `<timestamp>_<name>/migration.sql`; defaults to the repository's prisma/migrations. */
  migrationsDir?: string;
}

const DATASOURCE_ONLY_SCHEMA = 'datasource db {\n  provider = "postgresql"\n}\n';

/** Applies the pending migrations and returns their names, oldest first (empty when up to date). */
export async function migrate(connectionString: string, options: MigrateOptions = {}): Promise<string[]> {
  const log = options.log ?? (() => {});
  const migrationsList = await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  if (migrationsList.migrationDirectories.length === 0) {
    throw new Error(`no migrations found in ${migrationsList.baseDir}`);
  }
  const { appliedMigrationNames } = await withSchemaEngine(
    { connectionString, schema: DATASOURCE_ONLY_SCHEMA, log: forwardEngineWarnings(log) },
    (engine) => engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
  );
  for (const name of appliedMigrationNames) log(`applied migration ${name}`);
  if (appliedMigrationNames.length === 0) {
    log(`database schema is up to date (${migrationsList.migrationDirectories.length} migrations)`);
  }
  return appliedMigrationNames;
}

function forwardEngineWarnings(log: (message: string) => void): (line: string) => void {
  return (line) => {
    try {
      const entry = JSON.parse(line) as { level?: string; fields?: { message?: string } };
      if (entry.level === "WARN" || entry.level === "ERROR") log(`schema engine: ${entry.fields?.message ?? line}`);
    } catch {
      log(`schema engine: ${line}`);
    }
  };
}
