// Shared by the checks of the self-hosting files in docker/: paths, the
// docker compose CLI, .env files, the realm as Keycloak would import it, and a
// throwaway OpenLDAP server started by the very script the openldap image runs.
// No Docker engine is needed: `docker compose config` only parses.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { KeycloakLikeUser, RealmExport } from "@halyard/oidc-testing";
import { parse as parseYaml } from "yaml";
import { freePort } from "../net.ts";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const dockerDir = path.join(root, "docker");
export const composeFile = path.join(dockerDir, "compose.yaml");
export const envExample = path.join(root, ".env.example");
export const realmFile = path.join(dockerDir, "keycloak/halyard-realm.json");
export const ldifFile = path.join(dockerDir, "ldap/bootstrap.ldif");
export const slapdScript = path.join(dockerDir, "ldap/slapd.sh");
export const certsScript = path.join(dockerDir, "certs/generate.sh");
export const initEnvScript = path.join(dockerDir, "init-env.sh");
export const healthcheckScript = path.join(dockerDir, "healthcheck.mjs");

/** The password of every sample user in docker/ldap/bootstrap.ldif (documented there and in the README). */
export const SAMPLE_PASSWORD = "halyard-demo";

/** Variables the images' runtimes read, not the apps: allowed in a service's environment. */
export const RUNTIME_VARIABLES = new Set(["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "TZ"]);

/** The test Postgres server (the compose deployment runs on Postgres too). */
export const POSTGRES_URL = process.env.HALYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A throw-away database on the test server, through psql; `drop` removes it. */
export function createDatabase(): { url: string; drop(): void } {
  const name = `halyard_compose_${randomBytes(6).toString("hex")}`;
  const psql = (sql: string) => {
    const r = spawnSync("psql", [POSTGRES_URL, "-v", "ON_ERROR_STOP=1", "-qc", sql], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  };
  psql(`CREATE DATABASE "${name}"`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** An environment for a child process (or loadConfig): only these variables. */
export function envOf(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return vars as NodeJS.ProcessEnv;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `halyard-${prefix}-`));
}

/** `KEY=VALUE` lines of a .env file (comments and blank lines skipped), in order. */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`not a KEY=VALUE line: ${line}`);
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/**
 * The Compose CLI: the v2 plugin (`docker compose`) when installed, otherwise
 * the standalone `docker-compose` that scripts/setup.sh installs from Debian.
 */
export function composeCommand(): string[] {
  if (spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0) return ["docker", "compose"];
  if (spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0) return ["docker-compose"];
  throw new Error(
    "Neither `docker compose` (the Compose v2 plugin of the docker client) nor `docker-compose` is installed; " +
      "scripts/setup.sh installs docker-compose (apt-get install docker-compose).",
  );
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null>;
  ports?: unknown[];
  volumes?: unknown[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string };
  networks?: Record<string, { aliases?: string[] } | null>;
  command?: string[] | string;
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** `<compose> -f docker/compose.yaml --env-file <file> config`: exit code, stdout, stderr. */
export function runComposeConfig(envFile: string): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...args] = composeCommand();
  const r = spawnSync(cmd!, [...args, "-f", composeFile, "--env-file", envFile, "config"], {
    cwd: root,
    encoding: "utf8",
    // Only the env file may feed the interpolation, not this process's environment.
    env: envOf({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" }),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const resolved = new Map<string, ComposeConfig>();

/** The resolved compose configuration; throws with the CLI's own message when it refuses the file. */
export function composeConfig(envFile = envExample): ComposeConfig {
  const cached = resolved.get(envFile);
  if (cached) return cached;
  const r = runComposeConfig(envFile);
  if (r.status !== 0) throw new Error(`docker compose config exited with ${r.status}:\n${r.stderr}${r.stdout}`);
  const config = parseYaml(r.stdout) as ComposeConfig;
  resolved.set(envFile, config);
  return config;
}

/** A service's environment as strings (Compose may print numbers and booleans unquoted). */
export function serviceEnv(config: ComposeConfig, service: string): Record<string, string> {
  const s = config.services[service];
  if (!s) throw new Error(`compose has no service ${service}`);
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** `${VAR}` placeholders of the realm file. */
export function realmPlaceholders(text = readFileSync(realmFile, "utf8")): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}/g)].map((m) => m[1]!))];
}

/** The realm export with its `${VAR}` placeholders resolved from `env`, as Keycloak's import does. */
export function resolvedRealm(env: Record<string, string>): RealmExport {
  const text = readFileSync(realmFile, "utf8");
  const parsed = JSON.parse(text) as unknown;
  const resolve = (v: unknown): unknown => {
    if (typeof v === "string") {
      return v.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
        const value = env[name];
        if (value === undefined) throw new Error(`realm placeholder \${${name}} has no value`);
        return value;
      });
    }
    if (Array.isArray(v)) return v.map(resolve);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
    return v;
  };
  return resolve(parsed) as RealmExport;
}

// ---------------------------------------------------------------- LDAP ----

export interface LdapComponent {
  name: string;
  providerId: string;
  config: Record<string, string[]>;
  subComponents?: Record<string, LdapComponent[]>;
}

/** The realm's LDAP user-federation component and its mappers. */
export function ldapComponent(realm: RealmExport): { provider: LdapComponent; mappers: LdapComponent[] } {
  const components = (realm as unknown as { components?: Record<string, LdapComponent[]> }).components ?? {};
  const provider = (components["org.keycloak.storage.UserStorageProvider"] ?? []).find((c) => c.providerId === "ldap");
  if (!provider) throw new Error("the realm has no LDAP user federation");
  return { provider, mappers: provider.subComponents?.["org.keycloak.storage.ldap.mappers.LDAPStorageMapper"] ?? [] };
}

export function first(config: Record<string, string[]>, key: string): string | undefined {
  return config[key]?.[0];
}

export interface LdapEntry {
  dn: string;
  attrs: Map<string, string[]>;
}

/** Entries of `ldapsearch -LLL` output (continuation lines joined; base64 `::` values decoded). */
export function parseLdif(text: string): LdapEntry[] {
  const unfolded = text.replace(/\r?\n /g, "");
  const entries: LdapEntry[] = [];
  for (const block of unfolded.split(/\n\s*\n/)) {
    let entry: LdapEntry | undefined;
    for (const line of block.split("\n")) {
      if (!line || line.startsWith("#")) continue;
      const m = /^([A-Za-z0-9;-]+)(::?)\s?(.*)$/.exec(line);
      if (!m) continue;
      const value = m[2] === "::" ? Buffer.from(m[3]!, "base64").toString("utf8") : m[3]!;
      if (m[1]!.toLowerCase() === "dn") entry = { dn: value, attrs: new Map() };
      else if (entry) {
        const key = m[1]!.toLowerCase();
        entry.attrs.set(key, [...(entry.attrs.get(key) ?? []), value]);
      }
    }
    if (entry) entries.push(entry);
  }
  return entries;
}

export interface Directory {
  url: string;
  /** ldapsearch bound as `bindDn`; scope "base" | "one" | "sub". */
  search(opts: { bindDn: string; password: string; base: string; scope: string; filter: string; attrs?: string[] }): LdapEntry[];
  /** Simple bind: true when the directory accepts the DN and password. */
  bind(dn: string, password: string): boolean;
  output(): string;
  stop(): Promise<void>;
}

/**
 * OpenLDAP started by docker/ldap/slapd.sh, the openldap image's entry point,
 * with the sample LDIF, on a free loopback port and a fresh data directory.
 */
export async function startDirectory(adminPassword: string): Promise<Directory> {
  const dataDir = tempDir("ldap");
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}/`;
  let out = "";
  const proc: ChildProcess = spawn("sh", [slapdScript], {
    env: envOf({
      PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin`,
      LDAP_ADMIN_PASSWORD: adminPassword,
      LDAP_DATA_DIR: dataDir,
      LDAP_BOOTSTRAP_LDIF: ldifFile,
      LDAP_URLS: url,
      LDAP_LOG_LEVEL: "0",
    }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));

  const ldapsearch = (args: string[]) => spawnSync("ldapsearch", ["-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, ...args], { encoding: "utf8" });
  // Ready when the root DSE answers, which is what the image's HEALTHCHECK asks.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`slapd.sh exited with ${proc.exitCode}:\n${out}`);
    if (ldapsearch(["-b", "", "-s", "base", "namingContexts"]).status === 0) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`slapd did not answer on ${url}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    search({ bindDn, password, base, scope, filter, attrs = [] }) {
      const r = ldapsearch(["-D", bindDn, "-w", password, "-b", base, "-s", scope, filter, ...attrs]);
      // 32: no such object (an empty base); anything else is a failure worth seeing.
      if (r.status !== 0 && r.status !== 32) throw new Error(`ldapsearch -b ${base} ${filter} exited with ${r.status}: ${r.stderr}`);
      return parseLdif(r.stdout);
    },
    bind(dn, pw) {
      return ldapsearch(["-D", dn, "-w", pw, "-b", "", "-s", "base", "namingContexts"]).status === 0;
    },
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Keycloak's `searchScope`: 1 = one level, 2 = subtree. */
function ldapScope(searchScope: string | undefined): string {
  return searchScope === "2" ? "sub" : "one";
}

/** `(&(objectClass=a)(objectClass=b)<extra>)`, the way Keycloak combines object classes and a custom filter. */
function objectClassFilter(classes: string, extra: string | undefined, more = ""): string {
  const parts = classes
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean)
    .map((c) => `(objectClass=${c})`);
  return `(&${parts.join("")}${more}${extra ?? ""})`;
}

export interface DirectoryUser extends KeycloakLikeUser {
  dn: string;
  /** The value of the realm's uuidLDAPAttribute (Keycloak's link to the entry). */
  ldapId: string;
}

/**
 * The realm's users as Keycloak's LDAP federation would see them: the user
 * search of the provider component, the attribute mappers, and each role and
 * group mapper's membership query (LOAD_*_BY_MEMBER_ATTRIBUTE with DN
 * membership), read from the live directory. Passwords are not readable:
 * every user gets `password`, which the caller checked by binding.
 */
export function realmUsersFromDirectory(realm: RealmExport, dir: Directory, password: string): DirectoryUser[] {
  const { provider, mappers } = ldapComponent(realm);
  const cfg = provider.config;
  const bindDn = first(cfg, "bindDn")!;
  const bindPw = first(cfg, "bindCredential")!;
  const usernameAttr = first(cfg, "usernameLDAPAttribute")!;
  const uuidAttr = first(cfg, "uuidLDAPAttribute")!;
  const attrMappers = mappers.filter((m) => m.providerId === "user-attribute-ldap-mapper");
  const attrFor = (model: string) => attrMappers.find((m) => first(m.config, "user.model.attribute") === model);

  const entries = dir.search({
    bindDn,
    password: bindPw,
    base: first(cfg, "usersDn")!,
    scope: ldapScope(first(cfg, "searchScope")),
    filter: objectClassFilter(first(cfg, "userObjectClasses")!, first(cfg, "customUserSearchFilter")),
    attrs: [usernameAttr, uuidAttr, ...attrMappers.map((m) => first(m.config, "ldap.attribute")!)],
  });

  return entries.map((e) => {
    const attr = (name: string | undefined) => (name ? e.attrs.get(name.toLowerCase())?.[0] : undefined);
    const username = attr(usernameAttr);
    const ldapId = attr(uuidAttr);
    if (!username || !ldapId) throw new Error(`${e.dn} lacks ${usernameAttr} or ${uuidAttr}`);
    for (const m of attrMappers) {
      if (first(m.config, "is.mandatory.in.ldap") === "true" && !attr(first(m.config, "ldap.attribute"))) {
        throw new Error(`${e.dn} lacks ${first(m.config, "ldap.attribute")}, which mapper "${m.name}" requires`);
      }
    }
    const realmRoles: string[] = [];
    const groups: string[] = [];
    for (const m of mappers) {
      const mc = m.config;
      const isRole = m.providerId === "role-ldap-mapper";
      if (!isRole && m.providerId !== "group-ldap-mapper") continue;
      if (first(mc, "membership.attribute.type") !== "DN") throw new Error(`mapper ${m.name}: only DN membership is checked here`);
      const strategy = first(mc, "user.roles.retrieve.strategy");
      if (strategy !== (isRole ? "LOAD_ROLES_BY_MEMBER_ATTRIBUTE" : "LOAD_GROUPS_BY_MEMBER_ATTRIBUTE")) throw new Error(`mapper ${m.name}: strategy ${strategy} is not checked here`);
      const nameAttr = first(mc, isRole ? "role.name.ldap.attribute" : "group.name.ldap.attribute") ?? "cn";
      const found = dir.search({
        bindDn,
        password: bindPw,
        base: first(mc, isRole ? "roles.dn" : "groups.dn")!,
        scope: "sub",
        filter: objectClassFilter(
          first(mc, isRole ? "role.object.classes" : "group.object.classes") ?? "groupOfNames",
          first(mc, isRole ? "roles.ldap.filter" : "groups.ldap.filter"),
          `(${first(mc, "membership.ldap.attribute") ?? "member"}=${e.dn})`,
        ),
        attrs: [nameAttr],
      });
      for (const g of found) {
        const name = g.attrs.get(nameAttr.toLowerCase())?.[0];
        if (!name) continue;
        if (isRole) realmRoles.push(name);
        else groups.push(`${(first(mc, "groups.path") ?? "/").replace(/\/$/, "")}/${name}`);
      }
    }
    const user: DirectoryUser = { dn: e.dn, ldapId, username, password, realmRoles: realmRoles.sort(), groups: groups.sort() };
    const email = attr(first(attrFor("email")?.config ?? {}, "ldap.attribute"));
    const firstName = attr(first(attrFor("firstName")?.config ?? {}, "ldap.attribute"));
    const lastName = attr(first(attrFor("lastName")?.config ?? {}, "ldap.attribute"));
    if (email) user.email = email;
    if (firstName) user.firstName = firstName;
    if (lastName) user.lastName = lastName;
    return user;
  });
}
