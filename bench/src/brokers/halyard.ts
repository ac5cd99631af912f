/**
 * Halyard (this repo): `node --import tsx apps/broker/src/main.ts` from the
 * repo root, configured through HALYARD_* environment variables.
 *
 * HALYARD_BENCH_ENTRY overrides the command for experiments:
 *   - a single path ending in .ts/.js/.mjs/.cjs replaces the entry file
 *     (still run as `node --import tsx <entry>` from the repo root);
 *   - anything else is run as a shell command (`sh -c`), with the same env.
 * The port, data dir etc. are always passed via the environment.
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, freePort, spawnBroker, type BrokerLauncher } from "./common.ts";

const DEFAULT_ENTRY = "apps/broker/src/main.ts";
const STARTUP_TIMEOUT_MS = 30_000;

function command(): { cmd: string; args: string[] } {
  const override = process.env.HALYARD_BENCH_ENTRY?.trim();
  if (override && !/\s/.test(override) && /\.(ts|js|mjs|cjs)$/.test(override)) {
    return { cmd: process.execPath, args: ["--import", "tsx", override] };
  }
  if (override) return { cmd: "sh", args: ["-c", override] };
  return { cmd: process.execPath, args: ["--import", "tsx", DEFAULT_ENTRY] };
}

export const halyard: BrokerLauncher = {
  name: "halyard",
  describe: () => {
    const { cmd, args } = command();
    return `halyard: ${[cmd === process.execPath ? "node" : cmd, ...args].join(" ")} (node ${process.version})`;
  },
  async start(opts) {
    const port = await freePort();
    const dataDir = join(opts.workDir, "halyard-data");
    mkdirSync(dataDir, { recursive: true });
    const { cmd, args } = command();
    return spawnBroker({
      name: "halyard",
      cmd,
      args,
      cwd: REPO_ROOT,
      env: {
        HALYARD_MQTT_PORT: String(port),
        HALYARD_WS_PORT: "0",
        HALYARD_HTTP_PORT: "0",
        HALYARD_LOG_LEVEL: "warn",
        HALYARD_DATA_DIR: dataDir,
      },
      port,
      workDir: opts.workDir,
      startupTimeoutMs: STARTUP_TIMEOUT_MS,
    });
  },
};
