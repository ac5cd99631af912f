// The README's self-hosting walk-through, run here without Docker: the
// certificates docker/certs/generate.sh makes on first start, the broker
// started with the environment docker/compose.yaml gives it (only paths,
// ports and the issuer URL adapted to this machine), a platform administrator
// from the sample directory who signs in and creates a tenant and a device,
// and that device connecting over TLS with a Keycloak-style client token,
// trusting nothing but the generated CA.
import { spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerOptionsFromRealm, startKeycloakLikeProvider, type KeycloakLikeProvider } from "@halyard/oidc-testing";
import { startBrokerProcess, type BrokerProcess } from "../mqtt/broker-process.ts";
import {
  certsScript,
  composeConfig,
  createDatabase,
  envOf,
  healthcheckScript,
  realmUsersFromDirectory,
  resolvedRealm,
  SAMPLE_PASSWORD,
  serviceEnv,
  startDirectory,
  tempDir,
  type Directory,
} from "./helpers.ts";

let certsDir: string;
let certHosts: string[];
let dir: Directory;
let kc: KeycloakLikeProvider;
let broker: BrokerProcess;
let database: ReturnType<typeof createDatabase>;
let ports: { tcp: number; ws: number; http: number; tls: number; wss: number };
let consoleSecret: string;
let devicesSecret: string;
const api = (p: string) => `http://127.0.0.1:${ports.http}/api/v1${p}`;

function generateCerts(dirPath: string, hosts: string[]) {
  const r = spawnSync("sh", [certsScript], { env: envOf({ PATH: process.env.PATH, CERTS_DIR: dirPath, CERT_HOSTS: hosts.join(",") }), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`generate.sh exited with ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const pem = (name: string, d = certsDir) => readFileSync(path.join(d, name), "utf8");

async function tokenOf(username: string): Promise<string> {
  const t = await kc.authorizationCodeLogin({ clientId: "halyard-console", username, password: SAMPLE_PASSWORD, clientSecret: consoleSecret });
  return t.access_token;
}

async function call(method: string, p: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(api(p), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** SHA-256 fingerprint of the certificate a fresh TLS handshake on `port` presents. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: pem("ca.crt") }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.end();
    });
    s.once("error", reject);
  });
}

beforeAll(async () => {
  const compose = composeConfig();
  const kcEnv = serviceEnv(compose, "keycloak");
  consoleSecret = kcEnv.REALM_CONSOLE_CLIENT_SECRET!;
  devicesSecret = kcEnv.REALM_DEVICES_CLIENT_SECRET!;
  certHosts = serviceEnv(compose, "certs").CERT_HOSTS!.split(",");
  certsDir = tempDir("certs");
  generateCerts(certsDir, certHosts);

  const realm = resolvedRealm(kcEnv);
  dir = await startDirectory(serviceEnv(compose, "openldap").LDAP_ADMIN_PASSWORD!);
  kc = await startKeycloakLikeProvider(providerOptionsFromRealm(realm, { users: realmUsersFromDirectory(realm, dir, SAMPLE_PASSWORD) }));

  // The broker's environment from the compose file; what only makes sense inside the
  // compose network (file paths, the public issuer URL, Postgres) points at this machine.
  database = createDatabase();
  broker = await startBrokerProcess({
    ...serviceEnv(compose, "broker"),
    DATABASE_URL: database.url,
    HALYARD_TLS_CERT_FILE: path.join(certsDir, "server.crt"),
    HALYARD_TLS_KEY_FILE: path.join(certsDir, "server.key"),
    NODE_EXTRA_CA_CERTS: path.join(certsDir, "ca.crt"),
    HALYARD_OIDC_ISSUER: kc.issuer,
    HALYARD_TLS_PORT: "0",
    HALYARD_WSS_PORT: "0",
    HALYARD_ADMIN_PASSWORD: "local-admin-password-for-tests",
  });
  ports = broker.ports as typeof ports;
}, 120_000);

afterAll(async () => {
  await broker?.stop();
  await kc?.stop();
  await dir?.stop();
  database?.drop();
  if (certsDir) rmSync(certsDir, { recursive: true, force: true });
});

describe("docker/certs/generate.sh", () => {
  it("makes a CA and a server certificate it signed, valid for every name in CERT_HOSTS", () => {
    const ca = new X509Certificate(pem("ca.crt"));
    const server = new X509Certificate(pem("server.crt"));
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkPrivateKey(createPrivateKey(pem("server.key")))).toBe(true);
    for (const h of certHosts) {
      if (/^[\d.]+$|:/.test(h)) expect(server.checkIP(h), h).toBe(h);
      else expect(server.checkHost(h), h).toBe(h);
    }
    expect(server.checkHost("other.example")).toBeUndefined();
  });

  it("keeps the CA private and the chain file in order", () => {
    const mode = (f: string) => spawnSync("stat", ["-c", "%a", path.join(certsDir, f)], { encoding: "utf8" }).stdout.trim();
    expect(mode("ca.key")).toBe("600");
    expect(mode("server.key")).toBe("400");
    expect(pem("server.fullchain.crt")).toBe(pem("server.crt") + pem("ca.crt"));
  });

  it("keeps everything on a later start, renews only the server certificate when the host names change", () => {
    const d = tempDir("certs-rerun");
    try {
      generateCerts(d, ["a.example"]);
      const before = { ca: pem("ca.crt", d), server: pem("server.crt", d) };
      expect(generateCerts(d, ["a.example"])).toContain("is current");
      expect(pem("server.crt", d)).toBe(before.server);
      expect(generateCerts(d, ["b.example"])).toContain("CERT_HOSTS changed");
      expect(pem("ca.crt", d)).toBe(before.ca);
      const renewed = new X509Certificate(pem("server.crt", d));
      expect(renewed.checkHost("b.example")).toBe("b.example");
      expect(renewed.verify(new X509Certificate(before.ca).publicKey)).toBe(true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("never replaces a server certificate it did not issue (e.g. one from a public CA)", () => {
    const d = tempDir("certs-own");
    try {
      const own = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "90", "-subj", "/CN=mqtt.example.com",
        "-keyout", path.join(d, "server.key"), "-out", path.join(d, "server.crt")], { encoding: "utf8" });
      expect(own.status, own.stderr).toBe(0);
      const before = pem("server.crt", d);
      expect(generateCerts(d, ["halyard.example"])).toContain("not issued here");
      expect(pem("server.crt", d)).toBe(before);
      expect(new X509Certificate(pem("ca.crt", d)).ca).toBe(true);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("refuses to run without host names", () => {
    const r = spawnSync("sh", [certsScript], { env: envOf({ PATH: process.env.PATH, CERTS_DIR: tempDir("certs-none") }), encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("CERT_HOSTS");
  });
});

describe("the broker with the compose file's settings", () => {
  it("answers the image's healthcheck once ready, which fails where nothing listens", () => {
    const ok = spawnSync(process.execPath, [healthcheckScript, `http://127.0.0.1:${ports.http}/health/ready`], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    const down = spawnSync(process.execPath, [healthcheckScript, "http://127.0.0.1:1/health/ready"], { encoding: "utf8" });
    expect(down.status).toBe(1);
  });

  it("serves MQTT over TLS and WSS with the generated certificate", async () => {
    expect(ports.tls).toBeGreaterThan(0);
    expect(ports.wss).toBeGreaterThan(0);
    expect(await servedFingerprint(ports.tls)).toBe(new X509Certificate(pem("server.crt")).fingerprint256);
  });

  it("takes the sample platform administrator's sign-in and lets her create a tenant and a device", async () => {
    const alice = await tokenOf("alice");
    const tenant = await call("POST", "/tenants", alice, { slug: "acme", name: "Acme" });
    expect(tenant.status, JSON.stringify(tenant.body)).toBe(201);
    const device = await call("POST", "/tenants/acme/devices", alice, { clientId: "halyard-devices" });
    expect(device.status, JSON.stringify(device.body)).toBe(201);
  });

  it("applies the directory's tenant roles: operator reads, viewer may not add devices, another tenant's admin sees nothing", async () => {
    expect((await call("GET", "/tenants/acme/devices", await tokenOf("bob"))).status).toBe(200);
    expect((await call("POST", "/tenants/acme/devices", await tokenOf("carol"), { clientId: "carols-device" })).status).toBe(403);
    expect((await call("GET", "/tenants/acme/devices", await tokenOf("erin"))).status).toBe(404);
  });

  it("connects the sample device over TLS with its client_credentials token, trusting only the generated CA", async () => {
    const { access_token } = await kc.clientCredentialsToken("halyard-devices", devicesSecret);
    const client = await mqtt.connectAsync(`mqtts://localhost:${ports.tls}`, {
      ca: pem("ca.crt"),
      clientId: "halyard-devices",
      username: "halyard-devices",
      password: access_token,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it("refuses a client that does not trust the generated CA, and an anonymous one", async () => {
    await expect(mqtt.connectAsync(`mqtts://localhost:${ports.tls}`, { reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${ports.tcp}`, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 })).rejects.toThrow();
  });

  it("serves a renewed certificate without a restart when generate.sh replaces it", async () => {
    const before = await servedFingerprint(ports.tls);
    generateCerts(certsDir, [...certHosts, "renewed.example"]);
    const renewed = new X509Certificate(pem("server.crt")).fingerprint256;
    expect(renewed).not.toBe(before);
    const deadline = Date.now() + 10_000;
    let served = before;
    while (served !== renewed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      served = await servedFingerprint(ports.tls);
    }
    expect(served).toBe(renewed);
  });
});
