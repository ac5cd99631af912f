/** Aedes 1.x (npm) served by bench/src/servers/aedes-server.ts. */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BENCH_SRC, REPO_ROOT, freePort, spawnBroker, type BrokerLauncher } from "./common.ts";

function aedesVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkgPath = join(require.resolve("aedes").replace(/aedes\.js$/, ""), "package.json");
    return (JSON.parse(readFileSync(pkgPath, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export const aedes: BrokerLauncher = {
  name: "aedes",
  describe: () => `aedes ${aedesVersion()} on node ${process.version}, default options, in-memory persistence`,
  async start(opts) {
    const port = await freePort();
    return spawnBroker({
      name: "aedes",
      cmd: process.execPath,
      args: ["--import", "tsx", join(BENCH_SRC, "servers", "aedes-server.ts"), String(port)],
      cwd: REPO_ROOT,
      port,
      workDir: opts.workDir,
      startupTimeoutMs: 15_000,
    });
  },
};
