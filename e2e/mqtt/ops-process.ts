import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { brokerDefaults, brokerEntry } from "./broker-process.ts";

/**
 * A broker process for the operations tests (readiness, graceful shutdown,
 * SIGHUP reload): unlike startBrokerProcess it resolves as soon as the HTTP
 * listener is up, before the database and MQTT are, so start-up states can
 * be watched; its JSON log lines are parsed as they come.
 */

const root = path.resolve(path.dirname(brokerEntry), "../../..");
const POSTGRES = process.env.HALYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface OpsProcess {
  proc: ChildProcess;
  dataDir: string;
  /** HTTP port, known from the start. */
  http: number;
  /** MQTT and HTTP ports, once "halyard broker started" is logged. */
  started: Promise<{ tcp: number; ws: number; http: number }>;
  /** Exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  output(): string;
  lines(): LogLine[];
  /** Resolves with the first log line (seen so far or later) that `match` accepts. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  kill(signal: NodeJS.Signals): void;
}

/** `env` is added to this process's environment and the defaults below; an undefined value removes a variable. */
export function spawnBroker(env: Record<string, string | undefined> = {}): Promise<OpsProcess> {
  const dataDir = env.HALYARD_DATA_DIR ?? mkdtempSync(path.join(tmpdir(), "halyard-ops-e2e-"));
  const merged: Record<string, string | undefined> = { ...process.env, ...brokerDefaults(dataDir), ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const proc = spawn(process.execPath, ["--import", "tsx", brokerEntry], { cwd: root, env: merged, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let partial = "";
  const lines: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  let onStarted: (ports: { tcp: number; ws: number; http: number }) => void = () => undefined;
  const started = new Promise<{ tcp: number; ws: number; http: number }>((resolve, reject) => {
    onStarted = resolve;
    void exited.then((code) => reject(new Error(`broker exited with ${code} before it started:\n${out}`)));
  });
  started.catch(() => undefined);

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker HTTP listener did not open:\n${out}`)), 30_000);
    proc.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      partial += chunk.toString();
      const complete = partial.split("\n");
      partial = complete.pop() ?? "";
      for (const text of complete) {
        if (!text.startsWith("{")) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        for (const w of [...waiters]) {
          if (!w.match(line)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
        if (line.msg === "halyard broker started") onStarted(line.ports as { tcp: number; ws: number; http: number });
        if (line.msg === "http listener ready") {
          clearTimeout(timer);
          resolve({
            proc,
            dataDir,
            http: line.port as number,
            started,
            exited,
            output: () => out,
            lines: () => lines,
            waitForLog(match, timeoutMs = 15_000) {
              const seen = lines.find(match);
              if (seen) return Promise.resolve(seen);
              return new Promise((res, rej) => {
                const t = setTimeout(() => rej(new Error(`no matching log line within ${timeoutMs} ms:\n${out.slice(-4000)}`)), timeoutMs);
                waiters.push({ match, resolve: (l) => (clearTimeout(t), res(l)) });
              });
            },
            kill: (signal) => {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            },
          });
        }
      }
    });
    proc.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${out}`));
    });
  });
}

/** GET /health/ready: status code, body and how long the answer took. */
export async function ready(http: number): Promise<{ code: number; status: string; ms: number }> {
  const t = Date.now();
  const res = await fetch(`http://127.0.0.1:${http}/health/ready`);
  const body = (await res.json()) as { status: string };
  return { code: res.status, status: body.status, ms: Date.now() - t };
}

/** Polls readiness until `status` (rejects after `timeoutMs`); returns every status seen, in order, without repeats. */
export async function pollReadiness(http: number, status: string, timeoutMs = 20_000, everyMs = 25): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await ready(http).catch(() => ({ code: 0, status: "unreachable", ms: 0 }));
    if (seen[seen.length - 1] !== r.status) seen.push(r.status);
    if (r.status === status) return seen;
    if (Date.now() > deadline) throw new Error(`readiness never became ${status}; saw ${seen.join(" -> ")}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A fresh database on the test Postgres server (faster broker start-ups than the embedded one). */
export async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `halyard_e2e_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
