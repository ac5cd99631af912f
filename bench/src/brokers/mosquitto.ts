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
 */

import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOST, freePort, spawnBroker, type BrokerLauncher, type LaunchOptions } from "./common.ts";

export const MOSQUITTO_BIN = "/usr/sbin/mosquitto";

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
    lines.push("persistence true", `persistence_location ${dir}/`);
  } else {
    lines.push("persistence false");
  }
  return lines.join("\n") + "\n";
}

export const mosquitto: BrokerLauncher = {
  name: "mosquitto",
  describe: (opts) =>
    `mosquitto ${mosquittoVersion()} (${MOSQUITTO_BIN}), persistence ${opts.mosquittoPersistence ? "on" : "off"}`,
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
