// Where the data model and the migrations live in this repository; every
// function that reads them takes an override, these are only the defaults.
import { fileURLToPath } from "node:url";

export const DEFAULT_SCHEMA_PATH = fileURLToPath(new URL("../../../prisma/schema.prisma", import.meta.url));
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/migrations", import.meta.url));
