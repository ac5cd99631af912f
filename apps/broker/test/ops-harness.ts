import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { KeycloakLikeProvider } from "@halyard/oidc-testing";
import { startBroker, type RunningBroker } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/logger/logger.ts";
import { apiClient, createDatabase, startTestOidc, testEnv, type Reply } from "./api-harness.ts";

/**
 * The whole broker in-process like api-harness's startApi, for the
 * operations tests: its log output captured (the real JSON logger, with its
 * redaction), a HALYARD_CONFIG file the test can rewrite and have reloaded,
 * and optionally a real Postgres database reached with a password in its URL.
 */

export interface OpsBroker {
  url: string;
  broker: RunningBroker;
  oidc: KeycloakLikeProvider;
  /** Everything logged so far, as written (JSON lines). */
  logs(): string;
  /** The log lines parsed. */
  entries(): Record<string, unknown>[];
  admin: string;
  call<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply<T>>;
  userToken(username: string, groups: string[], realmRoles?: string[]): Promise<string>;
  /** Replaces the HALYARD_CONFIG file's contents (an object, or raw text). */
  writeConfig(contents: Record<string, unknown> | string): void;
  close(): Promise<void>;
}

export interface OpsOptions {
  env?: Record<string, string>;
  /** Initial HALYARD_CONFIG file contents. */
  config?: Record<string, unknown>;
  logLevel?: string;
  /** Use a new database on the Postgres server, connecting with this password in DATABASE_URL (the test server trusts any). */
  postgresPassword?: string;
}

export async function startOps(opts: OpsOptions = {}): Promise<OpsBroker> {
  const oidc = await startTestOidc();
  const dataDir = mkdtempSync(path.join(tmpdir(), "halyard-ops-"));
  const configFile = path.join(dataDir, "halyard.json");
  const writeConfig = (contents: Record<string, unknown> | string) =>
    writeFileSync(configFile, typeof contents === "string" ? contents : JSON.stringify(contents));
  writeConfig(opts.config ?? {});
  const database = opts.postgresPassword ? await createDatabase("halyard_ops", opts.postgresPassword) : undefined;
  const env: Record<string, string> = {
    ...testEnv(dataDir, oidc),
    HALYARD_CONFIG: configFile,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...opts.env,
  };
  let out = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const config = loadConfig(env);
  const logger = createLogger(opts.logLevel ?? config.logLevel, false, sink);
  const broker = await startBroker(config, logger, { reloadConfig: () => loadConfig(env) });
  const url = `http://127.0.0.1:${broker.ports.http}`;

  const client = await apiClient(url, oidc);

  return {
    url,
    broker,
    oidc,
    logs: () => out,
    entries: () =>
      out
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ...client,
    writeConfig,
    async close() {
      await broker.close();
      await oidc.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
