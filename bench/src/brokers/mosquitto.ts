/**
 * Mosquitto 2.0 (Debian package). A private instance with a generated config
 * on a free port; the system instance on 1883 is left alone.
 *
 * Config choices (see mosquitto.conf(5)):
 * - max_queued_messages 100000: in 2.0 an online client's QoS 0 messages are
 *   dropped once its outgoing packet count reaches max_queued_messages
 *   (default 1000), which the 50->1 fan-in window (50 x 64 = 3200) would hit.
 * - max_inflight_messages 0: no cap on in-flight outgoing QoS 1 (the others
 *   do not cap either; our windows bound it anyway).
 * - set_tcp_nodelay true: like the Node brokers' sockets (Nagle off).
 * - connection_messages false, only error/warning logs: no per-connection log
 *   I/O during the connection-rate test.
 * - persistence (--mosquitto-persistence, on for --durability): Mosquitto keeps
 *   its state in memory and writes a snapshot (mosquitto.db) every
 *   autosave_interval seconds (set explicitly to the default, 1800) and at
 *   shutdown. A QoS 1 PUBACK never waits for the disk, so messages acked since
 *   the last snapshot are lost in a crash; during a benchmark run nothing is
 *   written at all. Not comparable to Halyard's fsync-before-PUBACK.
 */

import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOST, freePort, spawnBroker, type BrokerLauncher, type LaunchOptions } from "./common.ts";

export const MOSQUITTO_BIN = "/usr/sbin/mosquitto";
/** Mosquitto's default snapshot interval, written out so the report can name it. */
export const AUTOSAVE_INTERVAL_S = 1800;

function mosquittoVersion(): string {
  try {
    const out = execFileSync(MOSQUITTO_BIN, ["-h"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? "unknown";
  } catch (err) {
    // `mosquitto -h` exits non-zero but still prints the version.
    const out = String((err as { stdout?: unknown }).stdout ?? "");
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? "unknown";
  }
}

function config(port: number, opts: LaunchOptions): string {
  const lines = [
    `listener ${port} ${HOST}`,
    "allow_anonymous true",
    "max_connections -1",
    "max_queued_messages 100000",
    "max_inflight_messages 0",
    "set_tcp_nodelay true",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "connection_messages false",
  ];
  if (opts.mosquittoPersistence) {
    const dir = join(opts.workDir, "mosquitto-data");
    mkdirSync(dir, { recursive: true });
    // Mosquitto started as root drops privileges to the `mosquitto` user.
    chmodSync(opts.workDir, 0o777);
    chmodSync(dir, 0o777);
    lines.push("persistence true", `persistence_location ${dir}/`, `autosave_interval ${AUTOSAVE_INTERVAL_S}`);
  } else {
    lines.push("persistence false");
  }
  return lines.join("\n") + "\n";
}

export const mosquitto: BrokerLauncher = {
  name: "mosquitto",
  describe: (opts) =>
    `mosquitto ${mosquittoVersion()} (${MOSQUITTO_BIN}), ` +
    (opts.mosquittoPersistence
      ? `persistence on (snapshot every ${AUTOSAVE_INTERVAL_S} s and at exit: PUBACK does not wait for the disk)`
      : "persistence off"),
  async start(opts) {
    const port = await freePort();
    const confPath = join(opts.workDir, "mosquitto.conf");
    writeFileSync(confPath, config(port, opts));
    chmodSync(confPath, 0o644);
    return spawnBroker({
      name: "mosquitto",
      cmd: MOSQUITTO_BIN,
      args: ["-c", confPath],
      cwd: opts.workDir,
      port,
      workDir: opts.workDir,
      startupTimeoutMs: 10_000,
    });
  },
};
