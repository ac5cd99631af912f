import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const brokerEntry = path.join(root, "apps/broker/src/main.ts");

/** What every spawned test broker runs with: free ports on localhost, JSON logs at info, its own data directory. */
export function brokerDefaults(dataDir: string): Record<string, string> {
  return {
    HALYARD_MQTT_PORT: "0",
    HALYARD_WS_PORT: "0",
    HALYARD_HTTP_PORT: "0",
    HALYARD_HOST: "127.0.0.1",
    HALYARD_LOG_LEVEL: "info",
    HALYARD_LOG_PRETTY: "false",
    HALYARD_DATA_DIR: dataDir,
  };
}

export interface BrokerProcess {
  proc: ChildProcess;
  ports: { tcp: number; ws: number; http: number };
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `apps/broker` as its own process on free ports and waits for its "started" log line. */
export function startBrokerProcess(env: Record<string, string> = {}): Promise<BrokerProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", brokerEntry], {
    cwd: root,
    env: { ...process.env, ...brokerDefaults(mkdtempSync(path.join(tmpdir(), "halyard-e2e-"))), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split("\n")) {
        if (!line.includes('"halyard broker started"')) continue;
        clearTimeout(timer);
        const { ports } = JSON.parse(line) as { ports: BrokerProcess["ports"] };
        resolve({
          proc,
          ports,
          output: () => out,
          async stop(signal = "SIGTERM") {
            if (proc.exitCode === null) proc.kill(signal);
            return exited;
          },
        });
        return;
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${out}`));
    });
  });
}

/** Runs the broker expecting it to fail at boot; returns exit code and stderr. */
export function runBrokerExpectingFailure(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", brokerEntry], {
    cwd: root,
    env: { ...process.env, HALYARD_MQTT_PORT: "0", HALYARD_WS_PORT: "0", HALYARD_HTTP_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => proc.once("exit", (code) => resolve({ code, stderr })));
}
