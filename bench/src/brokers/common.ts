/** Shared launcher plumbing: pinned spawn, log capture, readiness wait. */

import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrokerName } from "../types.ts";
import { freePort, spawnPinned, stopChild, waitForPort } from "../procs.ts";

export const HOST = "127.0.0.1";
/** Core the broker is pinned to (the load generator gets GEN_CORE). */
export const BROKER_CORE = 0;
export const GEN_CORE = 1;

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BENCH_SRC = fileURLToPath(new URL("../", import.meta.url));

export interface LaunchOptions {
  /** Private scratch directory for this broker instance (config, data, log). */
  workDir: string;
  mosquittoPersistence: boolean;
}

export interface BrokerInstance {
  name: BrokerName;
  host: string;
  port: number;
  /** pid of the broker process (RSS/CPU are read for it and its descendants). */
  pid: number;
  logPath: string;
  /** Human readable command line, for the report. */
  command: string;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface BrokerLauncher {
  name: BrokerName;
  /** Version / configuration notes for the report. */
  describe(opts: LaunchOptions): string;
  start(opts: LaunchOptions): Promise<BrokerInstance>;
}

export function tailFile(path: string, lines = 25): string {
  try {
    const all = readFileSync(path, "utf8").trimEnd().split("\n");
    return all.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface SpawnSpec {
  name: BrokerName;
  cmd: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  port: number;
  workDir: string;
  startupTimeoutMs: number;
}

/** Start a broker pinned to BROKER_CORE and wait until its port accepts TCP. */
export async function spawnBroker(spec: SpawnSpec): Promise<BrokerInstance> {
  const logPath = join(spec.workDir, `${spec.name}.log`);
  const logFd = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawnPinned(BROKER_CORE, spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const command = [spec.cmd, ...spec.args].join(" ");
  const spawnError = new Promise<never>((_, reject) => child.once("error", (e) => reject(e)));
  try {
    await Promise.race([waitForPort(HOST, spec.port, spec.startupTimeoutMs, child), spawnError]);
  } catch (err) {
    await stopChild(child, 1000);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${spec.name} broker failed to start: ${reason}\n  command: ${command} (cwd ${spec.cwd})\n` +
        `  log ${logPath}, last lines:\n${tailFile(logPath).replace(/^/gm, "    | ")}`,
      { cause: err },
    );
  }
  spawnError.catch(() => {});
  return {
    name: spec.name,
    host: HOST,
    port: spec.port,
    pid: child.pid!,
    logPath,
    command,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: () => stopChild(child),
  };
}

export { freePort };
