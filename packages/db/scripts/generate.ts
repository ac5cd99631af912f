// `npm run db:generate -w @halyard/db`: generates the Prisma client into
// src/generated/prisma (git-ignored) from prisma/schema.prisma. The CLI looks
// for its native schema engine even though generate never runs it, so the
// variable pointing at "an engine" is given any existing executable.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { DEFAULT_SCHEMA_PATH } from "../src/paths.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");

const result = spawnSync(process.execPath, [prismaCli, "generate", "--schema", DEFAULT_SCHEMA_PATH], {
  cwd: repoRoot,
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  },
});
process.exit(result.status ?? 1);
