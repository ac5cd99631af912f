import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pg from "pg";
import { startKeycloakLikeProvider, type KeycloakLikeProvider } from "@halyard/oidc-testing";
import { startBroker, type RunningBroker } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/logger/logger.ts";
import { ADMIN_PASSWORD, type Reply } from "./api-harness.ts";

/**
 * The whole broker in-process like api-harness's startApi, for the
 * operations tests: its log output captured (the real JSON logger, with its
 * redaction), a HALYARD_CONFIG file the test can rewrite and have reloaded,
 * and optionally a real Postgres database reached with a password in its URL.
 */

const SERVER_URL = process.env.HALYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

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

/** A database on the test server; its URL carries `password` when given. */
export async function createPostgresDatabase(password?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `halyard_ops_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  if (password) url.password = password;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: SERVER_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startOps(opts: OpsOptions = {}): Promise<OpsBroker> {
  const oidc = await startKeycloakLikeProvider({ users: [], clients: [{ clientId: "halyard-console", publicClient: true, redirectUris: ["http://127.0.0.1/cb"] }] });
  const dataDir = mkdtempSync(path.join(tmpdir(), "halyard-ops-"));
  const configFile = path.join(dataDir, "halyard.json");
  const writeConfig = (contents: Record<string, unknown> | string) =>
    writeFileSync(configFile, typeof contents === "string" ? contents : JSON.stringify(contents));
  writeConfig(opts.config ?? {});
  const database = opts.postgresPassword ? await createPostgresDatabase(opts.postgresPassword) : undefined;
  const env: Record<string, string> = {
    HALYARD_HOST: "127.0.0.1",
    HALYARD_MQTT_PORT: "0",
    HALYARD_WS_PORT: "0",
    HALYARD_HTTP_PORT: "0",
    HALYARD_DATA_DIR: dataDir,
    HALYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    HALYARD_OIDC_ISSUER: oidc.issuer,
    HALYARD_OIDC_AUDIENCE: oidc.apiAudience,
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

  const call: OpsBroker["call"] = async (method, p, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(url + p, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const login = await call<{ accessToken: string }>("POST", "/api/v1/auth/token", { body: { username: "admin", password: ADMIN_PASSWORD } });
  if (login.status !== 201) throw new Error(`admin login failed: ${JSON.stringify(login.body)}`);

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
    admin: login.body.accessToken,
    call,
    userToken: (username, groups, realmRoles = []) =>
      oidc.mintAccessToken({ sub: `sub-${username}`, preferred_username: username, groups, realm_access: { roles: realmRoles } }),
    writeConfig,
    async close() {
      await broker.close();
      await oidc.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
