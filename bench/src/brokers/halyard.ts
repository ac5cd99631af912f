/**
 * Halyard (this repo): `node --import tsx apps/broker/src/main.ts` from the
 * repo root, configured through HALYARD_* environment variables.
 *
 * HALYARD_BENCH_ENTRY overrides the command for experiments:
 *   - a single path ending in .ts/.js/.mjs/.cjs replaces the entry file
 *     (still run as `node --import tsx <entry>` from the repo root);
 *   - anything else is run as a shell command (`sh -c`), with the same env.
 * The port, data dir etc. are always passed via the environment.
 *
 * Variants (same command, different store settings; always set explicitly so
 * a HALYARD_* variable in the caller's environment cannot change them):
 *   - halyard:        HALYARD_STORE=lmdb,   HALYARD_DURABILITY=fsync (the default:
 *                     a QoS 1 PUBACK goes out once the message and its routing to
 *                     persistent sessions are fsynced)
 *   - halyard-commit: HALYARD_STORE=lmdb,   HALYARD_DURABILITY=commit (committed,
 *                     not flushed: survives a process crash, not a power cut)
 *   - halyard-memory: HALYARD_STORE=memory (nothing survives a restart; acks at once)
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrokerName } from "../types.ts";
import { REPO_ROOT, freePort, spawnBroker, type BrokerInstance, type BrokerLauncher } from "./common.ts";

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

interface Variant {
  name: BrokerName;
  env: Record<string, string>;
  note: string;
}

function launcher({ name, env: storeEnv, note }: Variant): BrokerLauncher {
  return {
    name,
    describe: () => {
      const { cmd, args } = command();
      const env = Object.entries(storeEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      return (
        `${env} ${[cmd === process.execPath ? "node" : cmd, ...args].join(" ")} (node ${process.version}) — ${note}`
      );
    },
    start: (opts) => start(name, storeEnv, opts.workDir),
  };
}

export const halyard = launcher({
  name: "halyard",
  env: { HALYARD_STORE: "lmdb", HALYARD_DURABILITY: "fsync" },
  note: "durable: PUBACK after fsync",
});
export const halyardCommit = launcher({
  name: "halyard-commit",
  env: { HALYARD_STORE: "lmdb", HALYARD_DURABILITY: "commit" },
  note: "PUBACK after the LMDB commit, before fsync",
});
export const halyardMemory = launcher({
  name: "halyard-memory",
  env: { HALYARD_STORE: "memory" },
  note: "in-memory: nothing survives a restart",
});

async function start(name: BrokerName, storeEnv: Record<string, string>, workDir: string): Promise<BrokerInstance> {
  const port = await freePort();
  const dataDir = join(workDir, "halyard-data");
  mkdirSync(dataDir, { recursive: true });
  const { cmd, args } = command();
  return spawnBroker({
    name,
    cmd,
    args,
    cwd: REPO_ROOT,
    env: {
      HALYARD_MQTT_PORT: String(port),
      HALYARD_WS_PORT: "0",
      HALYARD_HTTP_PORT: "0",
      HALYARD_LOG_LEVEL: "warn",
      HALYARD_DATA_DIR: dataDir,
      ...storeEnv,
      // Not a broker setting: the broker refuses unknown HALYARD_* variables.
      HALYARD_BENCH_ENTRY: undefined,
    },
    port,
    workDir,
    startupTimeoutMs: STARTUP_TIMEOUT_MS,
  });
}
