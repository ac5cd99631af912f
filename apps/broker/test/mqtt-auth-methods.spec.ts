import { execFile, execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthority, issueWithNewKey } from "../src/modules/certificates/pki.ts";
import { MqttService } from "../src/mqtt/mqtt.service.ts";
import { startApi, type Api } from "./api-harness.ts";

/**
 * The three ways a device authenticates, end to end over the real listeners:
 * a client certificate from its tenant's CA (mTLS, checked against
 * revocation), a password credential (over TLS with the tenant from SNI, and
 * over WSS), and an OAuth2 client-credentials token from the OIDC provider.
 * Also: the TLS certificate is reloaded from its files without a restart.
 */

const SECRET = "fleet-client-secret-123";
const ALL_TOPICS = [{ effect: "allow", action: "both", topicFilter: "#" }];

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

interface Pki {
  dir: string;
  /** Signs both server certificates. */
  serverCa: Buffer;
  server: { cert: string; key: string };
  nextServer: { cert: string; key: string };
  /** Self-signed, CN = a real device's client id. */
  selfSigned: { cert: Buffer; key: Buffer };
}

/** Server certificates for 127.0.0.1 and `*.mqtt.test`, and a self-signed client certificate, made with the openssl CLI. */
function makePki(): Pki {
  const dir = mkdtempSync(path.join(tmpdir(), "halyard-auth-pki-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Server CA"], dir);
  writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.mqtt.test\n");
  for (const name of ["server", "server-next"]) {
    openssl(["req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`], dir);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", "server.ext"], dir);
  }
  openssl(["req", "-x509", ...ec, "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=cert-a/O=acme"], dir);
  const at = (f: string) => path.join(dir, f);
  return {
    dir,
    serverCa: readFileSync(at("ca.pem")),
    server: { cert: at("server.pem"), key: at("server.key") },
    nextServer: { cert: at("server-next.pem"), key: at("server-next.key") },
    selfSigned: { cert: readFileSync(at("self.pem")), key: readFileSync(at("self.key")) },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Received {
  topic: string;
  payload: string;
}

describe("MQTT authentication: client certificates, SNI, WSS, OIDC tokens; TLS reload (embedded database)", () => {
  let api: Api;
  let pki: Pki;
  /** The files the broker serves, replaced by the reload test. */
  let live: { cert: string; key: string };
  const tenantIds: Record<string, string> = {};
  const devices: Record<string, { id: string; password?: string; username?: string }> = {};
  const authorities: Record<string, string> = {};
  const issued: Record<string, { id: string; cert: string; key: string }> = {};
  const clients: mqtt.MqttClient[] = [];

  const mqttService = () => api.broker.app.get(MqttService);
  const ports = () => mqttService().ports;
  const ok = async (method: string, p: string, body?: unknown) => {
    const r = await api.call(method, p, { token: api.admin, body });
    if (r.status >= 300) throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const addDevice = async (slug: string, clientId: string, roleId: string, credential: boolean) => {
    const d = await ok("POST", `/api/v1/tenants/${slug}/devices`, { clientId });
    await ok("POST", `/api/v1/tenants/${slug}/bindings`, { roleId, targetType: "device", targetId: d.id });
    devices[`${slug}:${clientId}`] = { id: d.id };
    if (credential) {
      const c = await ok("POST", `/api/v1/tenants/${slug}/devices/${d.id}/credentials`, {});
      devices[`${slug}:${clientId}`] = { id: d.id, username: c.username, password: c.password };
    }
  };
  const issue = async (slug: string, clientId: string, authority = authorities[slug]) => {
    const device = devices[`${slug}:${clientId}`]!;
    const c = await ok("POST", `/api/v1/tenants/${slug}/devices/${device.id}/certificates`, { authorityId: authority });
    return { id: c.id as string, cert: c.certificatePem as string, key: c.privateKeyPem as string };
  };

  /** Resolves at CONNACK success; rejects with MQTT.js's error (`code` = v5 reason) otherwise. */
  const connect = (url: string, opts: mqtt.IClientOptions) =>
    new Promise<mqtt.MqttClient>((resolve, reject) => {
      const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      c.once("connect", () => {
        clients.push(c);
        resolve(c);
      });
      c.once("error", (err) => {
        c.end(true);
        reject(err);
      });
      c.once("close", () => reject(new Error("closed before CONNACK")));
    });
  const tlsUrl = () => `mqtts://127.0.0.1:${ports().tls}`;
  const tcpUrl = () => `mqtt://127.0.0.1:${ports().tcp}`;
  /** A device certificate over TLS, nothing else. */
  const withCert = (clientId: string, material: { cert: string | Buffer; key: string | Buffer }, extra: mqtt.IClientOptions = {}) =>
    connect(tlsUrl(), { clientId, ca: pki.serverCa, cert: material.cert, key: material.key, ...extra });
  /** A password credential as `<username>@<tenant>` over TCP. */
  const withPassword = (slug: string, clientId: string) => {
    const d = devices[`${slug}:${clientId}`]!;
    return connect(tcpUrl(), { clientId, username: `${d.username}@${slug}`, password: d.password! });
  };
  const inbox = (c: mqtt.MqttClient) => {
    const got: Received[] = [];
    c.on("message", (topic, payload) => got.push({ topic, payload: payload.toString() }));
    return got;
  };
  const until = async (check: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error("timed out waiting");
      await sleep(10);
    }
  };
  const mountOf = (clientId: string, slug: string) =>
    [...mqttService().broker.clients()].find((ch) => ch.client?.clientId === clientId && ch.client.mountPoint === `${slug}/`)?.client?.mountPoint;
  const kicked = (c: mqtt.MqttClient) =>
    new Promise<{ reasonCode: number | undefined; at: number }>((resolve) => c.once("disconnect", (p) => resolve({ reasonCode: p.reasonCode, at: Date.now() })));
  const tlsFingerprint = (servername?: string) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port: ports().tls!, host: "127.0.0.1", ca: pki.serverCa, ...(servername ? { servername } : {}) }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256 ?? "");
        s.destroy();
      });
      s.once("error", reject);
    });
  const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

  /** Subscribers on the same topic in both tenants, to show where a device's messages land. */
  let watchers: { acme: mqtt.MqttClient; globex: mqtt.MqttClient; acmeGot: Received[]; globexGot: Received[] };
  /** Publishes `payload` from `c` and checks only `expected`'s watcher (same topic name in both tenants) receives it. */
  const landsIn = async (c: mqtt.MqttClient, expected: "acme" | "globex", payload: string) => {
    await c.publishAsync("shared/news", payload, { qos: 1 });
    const mine = expected === "acme" ? watchers.acmeGot : watchers.globexGot;
    const other = expected === "acme" ? watchers.globexGot : watchers.acmeGot;
    await until(() => mine.some((m) => m.payload === payload));
    await sleep(150);
    expect(other.some((m) => m.payload === payload)).toBe(false);
  };

  beforeAll(async () => {
    pki = makePki();
    const liveDir = mkdtempSync(path.join(tmpdir(), "halyard-live-tls-"));
    live = { cert: path.join(liveDir, "tls.crt"), key: path.join(liveDir, "tls.key") };
    copyFileSync(pki.server.cert, live.cert);
    copyFileSync(pki.server.key, live.key);
    api = await startApi(
      "embedded",
      {
        HALYARD_TLS_CERT_FILE: live.cert,
        HALYARD_TLS_KEY_FILE: live.key,
        HALYARD_TLS_PORT: "0",
        HALYARD_WSS_PORT: "0",
        HALYARD_SNI_DOMAIN: "mqtt.test",
        // Every refusal below comes from 127.0.0.1; the per-source limit is not what is tested here.
        HALYARD_MAX_AUTH_FAILURES_PER_MINUTE: "1000",
      },
      {
        oidcClients: [
          // One Keycloak client per device: its client id is the device's MQTT client id.
          { clientId: "svc-1", secret: SECRET, serviceAccountsEnabled: true, tenant: "acme" },
          { clientId: "svc-2", secret: SECRET, serviceAccountsEnabled: true, tenant: "globex" },
        ],
      },
    );
    for (const slug of ["acme", "globex"]) {
      tenantIds[slug] = (await ok("POST", "/api/v1/tenants", { slug, name: slug })).id;
      const role = await ok("POST", `/api/v1/tenants/${slug}/roles`, { name: "everything", rules: ALL_TOPICS });
      for (const [clientId, credential] of [["watch", true], ["cert-a", false], ["cert-b", false], ["sni", true], ["wss", true], ["svc-1", false], ["svc-2", false]] as const) {
        await addDevice(slug, clientId, role.id, credential);
      }
      authorities[slug] = (await ok("POST", `/api/v1/tenants/${slug}/authorities`, { name: `${slug} devices` })).id;
    }
    issued.acmeA = await issue("acme", "cert-a");
    issued.acmeB = await issue("acme", "cert-b");
    issued.globexA = await issue("globex", "cert-a");

    const acme = await withPassword("acme", "watch");
    const globex = await withPassword("globex", "watch");
    watchers = { acme, globex, acmeGot: inbox(acme), globexGot: inbox(globex) };
    await acme.subscribeAsync("shared/#", { qos: 1 });
    await globex.subscribeAsync("shared/#", { qos: 1 });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await api?.close();
    rmSync(pki.dir, { recursive: true, force: true });
    rmSync(path.dirname(live.cert), { recursive: true, force: true });
  });

  it("a device certificate from the tenant's CA, with no username or password, connects into that tenant only", async () => {
    const c = await withCert("cert-a", issued.acmeA!);
    expect(mountOf("cert-a", "acme")).toBe("acme/");
    await landsIn(c, "acme", "hello from acme's cert-a");

    // What the other tenant publishes on the same topic name never reaches it.
    const got = inbox(c);
    await c.subscribeAsync("shared/#", { qos: 1 });
    await watchers.globex.publishAsync("shared/news", "globex says", { qos: 1 });
    await watchers.acme.publishAsync("shared/news", "acme says", { qos: 1 });
    await until(() => got.some((m) => m.payload === "acme says"));
    await sleep(150);
    expect(got.map((m) => m.payload)).not.toContain("globex says");
    c.end(true);
  });

  it("revoking the certificate through the API disconnects the device within a second (0x98); it cannot reconnect", async () => {
    const c = await withCert("cert-b", issued.acmeB!);
    const kick = kicked(c);
    const device = devices["acme:cert-b"]!;
    const started = Date.now();
    const r = await api.call("POST", `/api/v1/tenants/acme/devices/${device.id}/certificates/${issued.acmeB!.id}/revoke`, {
      token: api.admin,
      body: { reason: "key_compromise" },
    });
    expect(r.status).toBe(200);
    const { reasonCode, at } = await kick;
    expect(reasonCode).toBe(0x98);
    expect(at - started).toBeLessThan(1000);
    await expect(withCert("cert-b", issued.acmeB!)).rejects.toMatchObject({ code: 0x87 });
  });

  it("a certificate from tenant B's CA cannot act in tenant A", async () => {
    const g = issued.globexA!;
    // Naming acme as well: two tenants, refused.
    await expect(withCert("cert-a", g, { username: "x@acme", password: "whatever" })).rejects.toMatchObject({ code: 0x87 });
    await expect(withCert("cert-a", g, { servername: "acme.mqtt.test" })).rejects.toMatchObject({ code: 0x87 });
    // On its own it lands in globex, whose device it is.
    const c = await withCert("cert-a", g);
    expect(mountOf("cert-a", "globex")).toBe("globex/");
    await landsIn(c, "globex", "hello from globex's cert-a");
    c.end(true);
  });

  it("a self-signed certificate, or one from a look-alike CA that is not registered, is not a device certificate", async () => {
    await expect(withCert("cert-a", pki.selfSigned)).rejects.toMatchObject({ code: 0x87 });
    // Same subject as the real thing (CN=cert-a, O=acme), signed by a CA that only looks like acme's.
    const fake = await createAuthority({ tenantSlug: "acme", name: "acme devices", validityDays: 1 });
    const forged = await issueWithNewKey({ authorityPem: fake.certificatePem, authorityKeyPem: fake.privateKeyPem, tenantSlug: "acme", clientId: "cert-a", validityDays: 1 });
    await expect(withCert("cert-a", { cert: forged.certificatePem, key: forged.privateKeyPem })).rejects.toMatchObject({ code: 0x87 });
    await expect(withCert("cert-a", pki.selfSigned, { servername: "acme.mqtt.test" })).rejects.toMatchObject({ code: 0x86 });
    // Those refusals are not because anonymous clients are refused: from loopback they are let in
    // (into their own namespace), but a client that shows a certificate meant to authenticate.
    (await connect(tcpUrl(), { clientId: "anon-1" })).end(true);
    // The certificate is ignored for identity; a valid credential alongside still works.
    const d = devices["acme:wss"]!;
    const c = await connect(tlsUrl(), { clientId: "wss", ca: pki.serverCa, ...pki.selfSigned, username: `${d.username}@acme`, password: d.password! });
    const attrs = [...mqttService().broker.clients()].find((ch) => ch.client?.clientId === "wss" && ch.client.mountPoint === "acme/")?.client?.attributes;
    expect(attrs).toMatchObject({ slug: "acme", username: d.username, certificateFingerprint: undefined });
    c.end(true);
  });

  it("revoking a tenant's CA disconnects its devices and refuses its certificates", async () => {
    const own = await ok("POST", "/api/v1/tenants/globex/authorities", { name: "short-lived" });
    await mqttService().tls!.settled();
    const cert = await issue("globex", "cert-b", own.id);
    const c = await withCert("cert-b", cert);
    const kick = kicked(c);
    await ok("POST", `/api/v1/tenants/globex/authorities/${own.id}/revoke`);
    expect((await kick).reasonCode).toBe(0x98);
    await mqttService().tls!.settled();
    await expect(withCert("cert-b", cert)).rejects.toMatchObject({ code: 0x87 });
    // The tenant's other CA is still trusted.
    const other = await withCert("cert-a", issued.globexA!);
    other.end(true);
  });

  it("the TLS certificate request names no CA, so no tenant can be learned from the handshake", async () => {
    // openssl prints the CA names a server sends with its CertificateRequest. Asynchronously:
    // the broker answering the handshake runs in this process.
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile("openssl", ["s_client", "-connect", `127.0.0.1:${ports().tls}`, "-servername", "probe.mqtt.test"], { timeout: 10_000 }, (err, stdout) =>
        err && !stdout ? reject(err) : resolve(stdout),
      );
      child.stdin?.end();
    });
    expect(out).toMatch(/No client certificate CA names sent/);
    for (const slug of ["acme", "globex"]) expect(out).not.toContain(slug);
  });

  it("SNI `<tenant>.mqtt.test` names the tenant: a plain username and its password connect", async () => {
    const d = devices["acme:sni"]!;
    const viaSni = (servername: string, username: string, password = d.password!) =>
      connect(tlsUrl(), { clientId: "sni", ca: pki.serverCa, servername, username, password });
    const c = await viaSni("acme.mqtt.test", d.username!);
    expect(mountOf("sni", "acme")).toBe("acme/");
    await landsIn(c, "acme", "hello via sni");
    c.end(true);
    // Naming the same tenant twice is fine; naming another is refused; a wrong password is wrong.
    (await viaSni("acme.mqtt.test", `${d.username}@acme`)).end(true);
    await expect(viaSni("globex.mqtt.test", `${d.username}@acme`)).rejects.toMatchObject({ code: 0x87 });
    await expect(viaSni("globex.mqtt.test", d.username!)).rejects.toMatchObject({ code: 0x86 });
    await expect(viaSni("acme.mqtt.test", d.username!, "not-the-password")).rejects.toMatchObject({ code: 0x86 });
    await expect(viaSni("nosuchtenant.mqtt.test", d.username!)).rejects.toMatchObject({ code: 0x86 });
  });

  it("WSS carries a password credential", async () => {
    const d = devices["globex:wss"]!;
    const url = `wss://127.0.0.1:${ports().wss}/mqtt`;
    const c = await connect(url, { clientId: "wss", ca: pki.serverCa, username: `${d.username}@globex`, password: d.password! });
    expect(mountOf("wss", "globex")).toBe("globex/");
    await landsIn(c, "globex", "hello over wss");
    c.end(true);
    await expect(connect(url, { clientId: "wss", ca: pki.serverCa, username: `${d.username}@globex`, password: "wrong" })).rejects.toMatchObject({ code: 0x86 });
  });

  it("WSS carries a device certificate too; a self-signed one is refused there as over TLS", async () => {
    const url = `wss://127.0.0.1:${ports().wss}/mqtt`;
    const c = await connect(url, { clientId: "cert-a", ca: pki.serverCa, cert: issued.acmeA!.cert, key: issued.acmeA!.key });
    expect(mountOf("cert-a", "acme")).toBe("acme/");
    await landsIn(c, "acme", "hello from cert-a over wss");
    c.end(true);
    await expect(connect(url, { clientId: "cert-a", ca: pki.serverCa, ...pki.selfSigned })).rejects.toMatchObject({ code: 0x87 });
  });

  it("an OIDC client-credentials token as the password connects the device it was issued to, into the token's tenant", async () => {
    const token = (await api.oidc.clientCredentialsToken("svc-1", SECRET)).access_token;
    const c = await connect(tcpUrl(), { clientId: "svc-1", username: "svc-1", password: token });
    expect(mountOf("svc-1", "acme")).toBe("acme/");
    await landsIn(c, "acme", "hello with a token");
    c.end(true);
    // Also with the tenant named the same way in the username, and over TLS.
    (await connect(tlsUrl(), { clientId: "svc-1", ca: pki.serverCa, username: "svc-1@acme", password: token })).end(true);

    const refusedWith = (clientId: string, username: string, password: string) => connect(tcpUrl(), { clientId, username, password });
    // A token is the device's own: it does not admit another device of the same tenant.
    await expect(refusedWith("svc-2", "svc-2", token)).rejects.toMatchObject({ code: 0x87 });
    await expect(refusedWith("watch", "watch", token)).rejects.toMatchObject({ code: 0x87 });
    const expired = await api.oidc.mintAccessToken({ tenant: "acme", client_id: "svc-1", azp: "svc-1" }, { expiresIn: -120 });
    await expect(refusedWith("svc-1", "svc-1", expired)).rejects.toMatchObject({ code: 0x86 });
    const foreign = await api.oidc.mintAccessToken({ tenant: "acme", client_id: "svc-1", azp: "svc-1" }, { signWithForeignKey: true });
    await expect(refusedWith("svc-1", "svc-1", foreign)).rejects.toMatchObject({ code: 0x86 });
    const globexToken = (await api.oidc.clientCredentialsToken("svc-2", SECRET)).access_token;
    await expect(refusedWith("svc-2", "x@acme", globexToken)).rejects.toMatchObject({ code: 0x87 });
    // A token whose client has no device in the tenant.
    const stray = await api.oidc.mintAccessToken({ tenant: "acme", client_id: "no-such-device", azp: "no-such-device" });
    await expect(refusedWith("no-such-device", "x", stray)).rejects.toMatchObject({ code: 0x87 });
    // The globex token is good for globex's own svc-2.
    const g = await connect(tcpUrl(), { clientId: "svc-2", username: "svc-2", password: globexToken });
    expect(mountOf("svc-2", "globex")).toBe("globex/");
    g.end(true);
  });

  it("replacing the certificate files serves the new certificate to new TLS and WSS connections, without a restart", async () => {
    const before = fingerprintOf(pki.server.cert);
    const after = fingerprintOf(pki.nextServer.cert);
    expect(await tlsFingerprint()).toBe(before);
    const survivor = await withCert("cert-a", issued.acmeA!);
    const survivorGot = inbox(survivor);
    await survivor.subscribeAsync("shared/#", { qos: 1 });

    // An editor's save: write a new file and rename it over the old one. The key first and
    // alone: a pair that does not match is not served, the old one stays.
    const replace = (from: string, to: string) => {
      copyFileSync(from, `${to}.tmp`);
      renameSync(`${to}.tmp`, to);
    };
    replace(pki.nextServer.key, live.key);
    await sleep(600);
    expect(await tlsFingerprint()).toBe(before);
    replace(pki.nextServer.cert, live.cert);
    const deadline = Date.now() + 5000;
    let seen = await tlsFingerprint();
    while (seen !== after && Date.now() < deadline) {
      await sleep(50);
      seen = await tlsFingerprint();
    }
    expect(seen).toBe(after);
    expect(await tlsFingerprint("acme.mqtt.test")).toBe(after);

    // WSS too, and the connection made before the change still works.
    const wssServed = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port: ports().wss!, host: "127.0.0.1", ca: pki.serverCa }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256 ?? "");
        s.destroy();
      });
      s.once("error", reject);
    });
    expect(wssServed).toBe(after);
    await watchers.acme.publishAsync("shared/news", "after the reload", { qos: 1 });
    await until(() => survivorGot.some((m) => m.payload === "after the reload"));
    // Device certificates keep working against the rebuilt context.
    (await withCert("cert-a", issued.acmeA!, { clientId: "cert-a" })).end(true);

    // Written in place (no rename) back to the first pair.
    writeFileSync(live.cert, readFileSync(pki.server.cert));
    writeFileSync(live.key, readFileSync(pki.server.key));
    const back = Date.now() + 5000;
    while ((await tlsFingerprint()) !== before && Date.now() < back) await sleep(50);
    expect(await tlsFingerprint()).toBe(before);
  });
});
