// docker/compose.yaml and .env.example, checked without a Docker engine:
// Compose itself must accept them, and every variable they hand the broker
// and the console must be one that app reads, with a value it accepts.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { configEnvNames, loadConfig } from "../../apps/broker/src/config/config.ts";
import { consoleEnvNames } from "../../apps/console/src/lib/env.ts";
import {
  composeConfig,
  composeFile,
  envExample,
  envOf,
  initEnvScript,
  parseEnvFile,
  realmFile,
  realmPlaceholders,
  resolvedRealm,
  runComposeConfig,
  RUNTIME_VARIABLES,
  serviceEnv,
  tempDir,
  type ComposeConfig,
} from "./helpers.ts";

let config: ComposeConfig;

/** A service's volume mounts, from either Compose's short (v1) or long (v2) form. */
function mounts(service: string): { source: string; target: string; readOnly: boolean }[] {
  return (config.services[service]?.volumes ?? []).map((v) => {
    if (typeof v === "string") {
      const [source = "", target = "", mode = ""] = v.split(":");
      return { source, target, readOnly: mode.split(",").includes("ro") };
    }
    const o = v as { source?: string; target?: string; read_only?: boolean };
    return { source: o.source ?? "", target: o.target ?? "", readOnly: o.read_only === true };
  });
}
const example = parseEnvFile(readFileSync(envExample, "utf8"));

beforeAll(() => {
  config = composeConfig(envExample);
});

describe("docker compose config", () => {
  it("accepts docker/compose.yaml with .env.example and defines every service of the deployment", () => {
    expect(Object.keys(config.services).sort()).toEqual(["broker", "certs", "console", "keycloak", "openldap", "postgres"]);
  });

  it("refuses to resolve when a required secret is missing, naming it", () => {
    const dir = tempDir("compose-env");
    const withoutSecret = [...example].filter(([k]) => k !== "KEYCLOAK_ADMIN_PASSWORD").map(([k, v]) => `${k}=${v}`);
    const file = path.join(dir, "env");
    writeFileSync(file, withoutSecret.join("\n") + "\n");
    const r = runComposeConfig(file);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("KEYCLOAK_ADMIN_PASSWORD");
  });

  describe("with the .env that docker/init-env.sh writes", () => {
    let dir: string;
    let env: Map<string, string>;
    let generated: ComposeConfig;

    beforeAll(() => {
      dir = tempDir("init-env");
      const file = path.join(dir, ".env");
      const r = spawnSync("sh", [initEnvScript], { env: envOf({ ...process.env, ENV_FILE: file }), encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      env = parseEnvFile(readFileSync(file, "utf8"));
      generated = composeConfig(file);
    });

    afterAll(() => {
      spawnSync("rm", ["-rf", dir]);
    });

    it("replaces every change-me value with a distinct random secret, in a file only its owner reads", () => {
      expect([...env.keys()]).toEqual([...example.keys()]);
      const replaced = [...example].filter(([, v]) => v.startsWith("change-me")).map(([k]) => k);
      expect(replaced.length).toBeGreaterThanOrEqual(7);
      const secrets = replaced.map((k) => env.get(k)!);
      for (const s of secrets) expect(s).toMatch(/^[0-9a-f]{48}$/);
      expect(new Set(secrets).size).toBe(secrets.length);
      for (const [k, v] of example) if (!replaced.includes(k)) expect(env.get(k)).toBe(v);
      expect(statSync(path.join(dir, ".env")).mode & 0o777).toBe(0o600);
    });

    it("refuses to overwrite an existing .env", () => {
      const r = spawnSync("sh", [initEnvScript], { env: envOf({ ...process.env, ENV_FILE: path.join(dir, ".env") }), encoding: "utf8" });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("already exists");
    });

    it("hands the generated secrets to the services", () => {
      expect(serviceEnv(generated, "console").CONSOLE_SESSION_SECRET).toBe(env.get("CONSOLE_SESSION_SECRET"));
      expect(serviceEnv(generated, "keycloak").REALM_CONSOLE_CLIENT_SECRET).toBe(env.get("CONSOLE_OIDC_CLIENT_SECRET"));
      expect(serviceEnv(generated, "broker").DATABASE_URL).toContain(`:${env.get("POSTGRES_PASSWORD")}@postgres:5432/`);
    });
  });
});

describe("environment of the apps", () => {
  it("sets only settings the broker reads, with values its configuration accepts", () => {
    const env = serviceEnv(config, "broker");
    const unknown = Object.keys(env).filter((k) => !configEnvNames.includes(k) && !RUNTIME_VARIABLES.has(k));
    expect(unknown).toEqual([]);
    const appEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !RUNTIME_VARIABLES.has(k)));
    const parsed = loadConfig(envOf(appEnv));
    expect(parsed.databaseUrl).toMatch(/^postgres:\/\/halyard:.+@postgres:5432\/halyard$/);
    expect(parsed.tlsCertFile).toBe("/certs/server.crt");
    expect(parsed.anonymous).toBe("off");
  });

  it("the broker would refuse a variable it does not know (so the check above means something)", () => {
    expect(() => loadConfig(envOf({ ...serviceEnv(config, "broker"), HALYARD_PUBLIC_HOST: "x" }))).toThrow(/unknown setting.*HALYARD_PUBLIC_HOST/);
  });

  it("sets only settings the console reads, with values its configuration accepts", async () => {
    const env = serviceEnv(config, "console");
    const unknown = Object.keys(env).filter((k) => !consoleEnvNames.includes(k) && !RUNTIME_VARIABLES.has(k));
    expect(unknown).toEqual([]);
    // The console reads process.env once; a fresh module instance reads the compose values.
    const saved = { ...process.env };
    try {
      for (const k of consoleEnvNames) delete process.env[k];
      Object.assign(process.env, env);
      vi.resetModules();
      const mod = await import("../../apps/console/src/lib/env.ts");
      const parsed = mod.env();
      expect(parsed.CONSOLE_OIDC_ISSUER).toBe(env.CONSOLE_OIDC_ISSUER);
      expect(parsed.CONSOLE_SESSION_SECRET?.length).toBeGreaterThanOrEqual(32);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it("uses every variable of .env.example, and .env.example defines every variable the compose file reads", () => {
    const text = readFileSync(composeFile, "utf8").replace(/^\s*#.*$/gm, "");
    const used = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const defined = new Set([...example.keys()].filter((k) => !k.startsWith("COMPOSE_")));
    expect([...defined].filter((k) => !used.has(k))).toEqual([]);
    expect([...used].filter((k) => !defined.has(k))).toEqual([]);
  });

  it("names only real broker settings HALYARD_* and only real console settings CONSOLE_* in .env.example", () => {
    for (const k of example.keys()) {
      if (k.startsWith("HALYARD_")) expect(configEnvNames, k).toContain(k);
      if (k.startsWith("CONSOLE_")) expect(consoleEnvNames, k).toContain(k);
    }
  });
});

describe("wiring between the services", () => {
  it("gives Keycloak a value for every placeholder of the realm file", () => {
    const kc = serviceEnv(config, "keycloak");
    const placeholders = realmPlaceholders(readFileSync(realmFile, "utf8"));
    expect(placeholders.length).toBeGreaterThan(0);
    expect(placeholders.filter((p) => !(p in kc))).toEqual([]);
  });

  it("points the broker and the console at the issuer Keycloak announces, and the console at its realm client", () => {
    const kc = serviceEnv(config, "keycloak");
    const broker = serviceEnv(config, "broker");
    const consoleEnv = serviceEnv(config, "console");
    const realm = resolvedRealm(kc);
    const issuer = `${kc.KC_HOSTNAME}/realms/${realm.realm}`;
    expect(broker.HALYARD_OIDC_ISSUER).toBe(issuer);
    expect(consoleEnv.CONSOLE_OIDC_ISSUER).toBe(issuer);
    expect(new URL(issuer).protocol).toBe("https:");
    expect(new URL(issuer).port).toBe(kc.KC_HTTPS_PORT);

    const consoleClient = realm.clients?.find((c) => c.clientId === consoleEnv.CONSOLE_OIDC_CLIENT_ID);
    expect(consoleClient?.secret).toBe(consoleEnv.CONSOLE_OIDC_CLIENT_SECRET);
    expect(consoleClient?.redirectUris).toEqual([`${consoleEnv.CONSOLE_PUBLIC_URL}/api/auth/callback`]);
    const api = realm.clients?.find((c) => c.clientId === broker.HALYARD_OIDC_AUDIENCE);
    expect(api?.bearerOnly).toBe(true);
  });

  it("lets the containers reach Keycloak under its public host name, which the TLS certificate covers", () => {
    const kc = serviceEnv(config, "keycloak");
    const host = new URL(kc.KC_HOSTNAME!).hostname;
    const aliases = config.services.keycloak?.networks?.default?.aliases ?? [];
    expect(aliases).toContain(host);
    const certHosts = serviceEnv(config, "certs").CERT_HOSTS!.split(",");
    expect(certHosts).toContain(host);
    expect(certHosts).toContain(serviceEnv(config, "console").CONSOLE_MQTT_HOST);
    expect(kc.KC_HTTPS_CERTIFICATE_FILE).toBe(serviceEnv(config, "broker").HALYARD_TLS_CERT_FILE);
  });

  it("starts each service only after what it needs, and mounts the generated certificates read-only", () => {
    const dep = (s: string) => config.services[s]?.depends_on ?? {};
    expect(dep("keycloak")).toMatchObject({
      certs: { condition: "service_completed_successfully" },
      postgres: { condition: "service_healthy" },
      openldap: { condition: "service_healthy" },
    });
    expect(dep("broker")).toMatchObject({ certs: { condition: "service_completed_successfully" }, postgres: { condition: "service_healthy" } });
    expect(dep("console")).toMatchObject({ broker: { condition: "service_healthy" }, keycloak: { condition: "service_healthy" } });
    for (const s of ["keycloak", "broker", "console"]) expect(mounts(s), s).toContainEqual({ source: "certs", target: "/certs", readOnly: true });
  });
});
