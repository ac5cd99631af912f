import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { startKeycloakLikeProvider, type KeycloakLikeClient, type KeycloakLikeProvider } from "@halyard/oidc-testing";
import { startBroker, type RunningBroker } from "../src/bootstrap.ts";
import { loadConfig } from "../src/config/config.ts";

export type DbKind = "embedded" | "postgres";
/** Every API suite runs against both: the embedded default and a real Postgres server. */
export const DB_KINDS: DbKind[] = ["embedded", "postgres"];
const SERVER_URL = process.env.HALYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const ADMIN_PASSWORD = "test-admin-password-1";

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Api {
  url: string;
  broker: RunningBroker;
  oidc: KeycloakLikeProvider;
  databaseUrl: string | undefined;
  /** Bearer token of the local platform administrator. */
  admin: string;
  call<T = any>(method: string, path: string, opts?: { token?: string | undefined; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply<T>>;
  /** A token for an OIDC user with the given groups (`/tenants/<slug>/<role>`) and realm roles. */
  userToken(username: string, groups: string[], realmRoles?: string[]): Promise<string>;
  close(): Promise<void>;
}

/** A new database on the test Postgres server; its URL carries `password` when given (the server trusts any). */
export async function createDatabase(prefix = "halyard_api", password?: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
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

/** The Keycloak-like provider every in-process broker trusts, with the console's public client (and `more`). */
export function startTestOidc(more: KeycloakLikeClient[] = []): Promise<KeycloakLikeProvider> {
  return startKeycloakLikeProvider({
    users: [],
    clients: [{ clientId: "halyard-console", publicClient: true, redirectUris: ["http://127.0.0.1/cb"] }, ...more],
  });
}

/** The environment of a test broker: ephemeral ports on localhost, its own data folder, the local admin and the test OIDC provider. */
export function testEnv(dataDir: string, oidc: KeycloakLikeProvider): Record<string, string> {
  return {
    HALYARD_HOST: "127.0.0.1",
    HALYARD_MQTT_PORT: "0",
    HALYARD_WS_PORT: "0",
    HALYARD_HTTP_PORT: "0",
    HALYARD_DATA_DIR: dataDir,
    HALYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    HALYARD_OIDC_ISSUER: oidc.issuer,
    HALYARD_OIDC_AUDIENCE: oidc.apiAudience,
  };
}

/** JSON over real HTTP to the broker at `url`, plus the local admin's token and OIDC user tokens. */
export async function apiClient(url: string, oidc: KeycloakLikeProvider): Promise<Pick<Api, "call" | "admin" | "userToken">> {
  const call: Api["call"] = async (method, p, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(url + p, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const login = await call<{ accessToken: string }>("POST", "/api/v1/auth/token", { body: { username: "admin", password: ADMIN_PASSWORD } });
  if (login.status !== 201) throw new Error(`admin login failed: ${JSON.stringify(login.body)}`);
  return {
    call,
    admin: login.body.accessToken,
    userToken: (username, groups, realmRoles = []) =>
      oidc.mintAccessToken({ sub: `sub-${username}`, preferred_username: username, groups, realm_access: { roles: realmRoles } }),
  };
}

export interface ApiOptions {
  /** More clients of the OIDC provider, e.g. a confidential client with service accounts and a `tenant` claim. */
  oidcClients?: KeycloakLikeClient[];
}

export async function startApi(db: DbKind, env: Record<string, string> = {}, opts: ApiOptions = {}): Promise<Api> {
  const oidc = await startTestOidc(opts.oidcClients);
  const dataDir = mkdtempSync(path.join(tmpdir(), "halyard-api-"));
  const database = db === "postgres" ? await createDatabase() : undefined;
  const config = loadConfig({
    ...testEnv(dataDir, oidc),
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const broker = await startBroker(config, pino({ level: "silent" }));
  const url = `http://127.0.0.1:${broker.ports.http}`;

  return {
    url,
    broker,
    oidc,
    databaseUrl: database?.url,
    ...(await apiClient(url, oidc)),
    async close() {
      await broker.close();
      await oidc.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TwoTenants {
  acmeAdmin: string;
  acmeOperator: string;
  acmeViewer: string;
  globexAdmin: string;
}

/** The fixture most API suites share: tenants acme and globex, and OIDC users with each acme role plus a globex admin. */
export async function seedTwoTenants(api: Api): Promise<TwoTenants> {
  for (const slug of ["acme", "globex"]) {
    const r = await api.call("POST", "/api/v1/tenants", { token: api.admin, body: { slug, name: slug } });
    if (r.status !== 201) throw new Error(`creating tenant ${slug}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return {
    acmeAdmin: await api.userToken("alice", ["/tenants/acme/tenant_admin"]),
    acmeOperator: await api.userToken("otto", ["/tenants/acme/tenant_operator"]),
    acmeViewer: await api.userToken("vera", ["/tenants/acme/tenant_viewer"]),
    globexAdmin: await api.userToken("gina", ["/tenants/globex/tenant_admin"]),
  };
}
