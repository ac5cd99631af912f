// `npm run db:migration -w @halyard/db -- <name>`: writes the next migration
// from the changes in prisma/schema.prisma, or says there is nothing to write.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createMigration } from "../src/create-migration.ts";
import { DEFAULT_MIGRATIONS_DIR } from "../src/paths.ts";

const name = process.argv.slice(2).join("_");
if (!name) {
  console.error("usage: npm run db:migration -w @halyard/db -- <name>");
  process.exit(2);
}

try {
  const created = await createMigration(name);
  if (!created) {
    console.log("No schema change: prisma/schema.prisma matches the migrations, nothing written.");
  } else {
    const dir = relative(fileURLToPath(new URL("../../../", import.meta.url)), `${DEFAULT_MIGRATIONS_DIR}/${created.name}`);
    console.log(`Wrote ${dir}/migration.sql:\n\n${created.sql}`);
  }
} catch (err) {
  console.error(`db:migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
