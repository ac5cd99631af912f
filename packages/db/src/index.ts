// Public surface of @halyard/db: the Prisma client, migrations, drift checks
// and the embedded PostgreSQL. Nothing here reads the environment.
export { createPrismaClient, type PrismaClientOptions } from "./client.ts";
export { migrate, type MigrateOptions } from "./migrate.ts";
export { checkDrift, diffMigrations, type DiffMigrationsOptions, type SchemaSource } from "./drift.ts";
export { createMigration, type CreatedMigration } from "./create-migration.ts";
export {
  startEmbeddedPostgres,
  EmbeddedPostgresError,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from "./embedded.ts";
export { DEFAULT_MIGRATIONS_DIR, DEFAULT_SCHEMA_PATH } from "./paths.ts";
export * from "./generated/prisma/client.ts";
