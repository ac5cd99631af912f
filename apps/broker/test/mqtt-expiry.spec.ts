import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService } from "../src/modules/database/database.service.ts";
import { MqttService } from "../src/mqtt/mqtt.service.ts";
import { startApi, type Api } from "./api-harness.ts";
import { closeAll, connectDevice, connectRaw, provisionTenant, publish, refusal, sleep, subscribe, until, type Client, type DeviceLogin, type TenantFixture } from "./mqtt-tenant-kit.ts";

/**
 * A connection ends when what it logged in with expires, not only when the
 * API revokes it: a password credential's expiresAt, an OIDC access token's
 * exp, a device certificate's notAfter. Real MQTT.js clients over real
 * sockets; the disconnect is timed against the expiry. The broker answers
 * 0x87 Not authorized with the reason "credential expired" / "token expired" /
 * "certificate expired" (0x98 stays the answer to an operator's action).
 */

const SECRET = "expiring-client-secret-123";
/** How late after the expiry a disconnect may come (the schedule's promise plus socket and CI slack). */
const MAX_LATE_MS = 1500;

interface Kick {
  reasonCode: number | undefined;
  reasonString: string | undefined;
  /** When the client saw the socket close. */
  closedAt: number;
}

/** Resolves when the connection closes, with the server's DISCONNECT (v5) if one came. */
function kicked(c: Client): Promise<Kick> {
  return new Promise((resolve) => {
    let packet: mqtt.IDisconnectPacket | undefined;
    c.once("disconnect", (p) => (packet = p));
    c.once("close", () => resolve({ reasonCode: packet?.reasonCode, reasonString: packet?.properties?.reasonString, closedAt: Date.now() }));
  });
}

/** A CA and a server certificate for 127.0.0.1, made with the openssl CLI (the TLS listener needs one). */
function serverPki(): { dir: string; ca: Buffer; cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "halyard-expiry-pki-"));
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Server CA"]);
  writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  run(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=server"]);
  run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"]);
  return { dir, ca: readFileSync(path.join(dir, "ca.pem")), cert: path.join(dir, "server.pem"), key: path.join(dir, "server.key") };
}

describe("MQTT: a login that expires while connected ends the connection (embedded database)", () => {
  let api: Api;
  let pki: ReturnType<typeof serverPki>;
  let acme: TenantFixture;
  const clients: Client[] = [];

  const mqttService = () => api.broker.app.get(MqttService);
  const tcp = () => mqttService().ports.tcp as number;
  const tenancy = () => mqttService().tenancy;
  const ok = async (method: string, p: string, body?: unknown) => {
    const r = await api.call(method, p, { token: api.admin, body });
    if (r.status >= 300) throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** A device of acme with a credential that expires at `expiresAt`. */
  const deviceExpiringAt = async (clientId: string, expiresAt: number): Promise<DeviceLogin & { credentialId: string }> => {
    const d = await ok("POST", "/api/v1/tenants/acme/devices", { clientId });
    await ok("POST", "/api/v1/tenants/acme/bindings", { roleId: acme.roleId, targetType: "device", targetId: d.id });
    const c = await ok("POST", `/api/v1/tenants/acme/devices/${d.id}/credentials`, { username: clientId, expiresAt: new Date(expiresAt).toISOString() });
    expect(c.expiresAt).toBe(new Date(expiresAt).toISOString());
    return { id: d.id, clientId, username: c.username, password: c.password, credentialId: c.id };
  };
  const track = (c: Client) => {
    clients.push(c);
    return c;
  };
  /** The broker's view of a connected client (to read the expiry it scheduled). */
  const liveClient = (clientId: string) => [...mqttService().broker.clients()].find((ch) => ch.client?.clientId === clientId && ch.client.mountPoint === "acme/")?.client;
  const events = async (clientId: string) =>
    (await ok("GET", `/api/v1/tenants/acme/events?clientId=${clientId}&type=disconnected`)).items as { type: string; reason: string | null }[];

  beforeAll(async () => {
    pki = serverPki();
    api = await startApi(
      "embedded",
      {
        HALYARD_TLS_CERT_FILE: pki.cert,
        HALYARD_TLS_KEY_FILE: pki.key,
        HALYARD_TLS_PORT: "0",
        // Refused reconnects below all come from 127.0.0.1.
        HALYARD_MAX_AUTH_FAILURES_PER_MINUTE: "1000",
      },
      { oidcClients: [{ clientId: "svc-exp", secret: SECRET, serviceAccountsEnabled: true, tenant: "acme" }] },
    );
    acme = await provisionTenant(api, "acme", ["watch", "svc-exp", "cert-1"]);
  });
  afterAll(async () => {
    await closeAll(...clients);
    await api?.close();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it("a credential expiring while connected closes the v5 client (DISCONNECT 0x87 'credential expired') and the v3.1.1 client at the expiry", async () => {
    const expiresAt = Date.now() + 2500;
    const v5 = await deviceExpiringAt("exp-v5", expiresAt);
    const v3 = await deviceExpiringAt("exp-v3", expiresAt);
    const c5 = track(await connectDevice(tcp(), "acme", v5));
    const c3 = track(await connectDevice(tcp(), "acme", v3, { protocolVersion: 4 }));
    const gone5 = kicked(c5);
    const gone3 = kicked(c3);
    // Armed at CONNECT with the credential's own expiry.
    expect(tenancy().expiryOf(liveClient("exp-v5")!)).toBe(expiresAt);
    expect(tenancy().expiryOf(liveClient("exp-v3")!)).toBe(expiresAt);
    // Still fully working just before.
    expect(await subscribe(c5, "exp/#")).toEqual([1]);
    expect(await publish(c3, "exp/v3", "before", { qos: 1 })).toBe(0);

    const k5 = await gone5;
    const k3 = await gone3;
    expect(k5.reasonCode).toBe(0x87);
    expect(k5.reasonString).toBe("credential expired");
    expect(k3.reasonCode).toBeUndefined(); // v3.1.1 has no server DISCONNECT: the socket is closed
    for (const k of [k5, k3]) {
      expect(k.closedAt).toBeGreaterThanOrEqual(expiresAt);
      expect(k.closedAt - expiresAt).toBeLessThanOrEqual(MAX_LATE_MS);
    }
    console.log(`credential expiry: v5 closed ${k5.closedAt - expiresAt} ms after expiresAt, v3.1.1 ${k3.closedAt - expiresAt} ms`);
    // Nothing is left scheduled for the closed connections, and the expired credential no longer logs in.
    await until(() => !liveClient("exp-v5") && !liveClient("exp-v3"));
    expect(await refusal(connectDevice(tcp(), "acme", v5))).toBe(0x86);
    expect(await refusal(connectDevice(tcp(), "acme", v3, { protocolVersion: 4 }))).toBe(4);
    // The connection log says why.
    // (written to the database within a second)
    let logged: { type: string; reason: string | null }[] = [];
    for (const end = Date.now() + 5000; logged.length === 0 && Date.now() < end; await sleep(200)) logged = await events("exp-v5");
    expect(logged[0]).toMatchObject({ type: "disconnected", reason: "credential expired" });
    expect((await events("exp-v3"))[0]).toMatchObject({ type: "disconnected", reason: "credential expired" });
  });

  it("PATCHing expiresAt later before it passes keeps the client connected; a sooner date shortens it; null clears it", async () => {
    const first = Date.now() + 2500;
    const d = await deviceExpiringAt("exp-extend", first);
    const c = track(await connectDevice(tcp(), "acme", d));
    const gone = kicked(c);
    let closed = false;
    void gone.then(() => (closed = true));
    const path = `/api/v1/tenants/acme/devices/${d.id}/credentials/${d.credentialId}`;

    const later = Date.now() + 60_000;
    expect((await ok("PATCH", path, { expiresAt: new Date(later).toISOString() })).expiresAt).toBe(new Date(later).toISOString());
    // Re-armed by the change event, well before the first expiry would have come.
    await until(() => tenancy().expiryOf(liveClient("exp-extend")!) === later, 1000, "re-armed expiry");
    // Well past the first expiry: still connected, still served.
    await sleep(first + MAX_LATE_MS - Date.now());
    expect(closed).toBe(false);
    expect(await subscribe(c, "extend/#")).toEqual([1]);
    expect(await publish(c, "extend/x", "still here", { qos: 1 })).toBe(0);

    // Cleared: nothing scheduled for the connection.
    await ok("PATCH", path, { expiresAt: null });
    await until(() => tenancy().expiryOf(liveClient("exp-extend")!) === undefined, 2000, "cleared expiry");

    // Shortened to ~1.5 s from now: closed then, as an expiry (0x87), not as an administrative action.
    const sooner = Date.now() + 1500;
    await ok("PATCH", path, { expiresAt: new Date(sooner).toISOString() });
    const k = await gone;
    expect(k.reasonCode).toBe(0x87);
    expect(k.reasonString).toBe("credential expired");
    expect(k.closedAt).toBeGreaterThanOrEqual(sooner);
    expect(k.closedAt - sooner).toBeLessThanOrEqual(MAX_LATE_MS);
    console.log(`shortened credential expiry: closed ${k.closedAt - sooner} ms after the new expiresAt`);
  });

  it("an expiry set in the past through the API is an administrative action (0x98), as before", async () => {
    const d = await deviceExpiringAt("exp-now", Date.now() + 3_600_000);
    const c = track(await connectDevice(tcp(), "acme", d));
    const gone = kicked(c);
    // The API refuses a past expiresAt on create, not on update: that is how an operator expires one now.
    await ok("PATCH", `/api/v1/tenants/acme/devices/${d.id}/credentials/${d.credentialId}`, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect((await gone).reasonCode).toBe(0x98);
  });

  it("an OIDC access token used as the password closes the connection at its exp (0x87 'token expired'); the same token is then refused", async () => {
    const token = await api.oidc.mintAccessToken({ tenant: "acme", client_id: "svc-exp", azp: "svc-exp" }, { expiresIn: 2 });
    const exp = (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number }).exp * 1000;
    const c = track(await connectRaw(tcp(), { clientId: "svc-exp", username: "svc-exp", password: token }));
    const gone = kicked(c);
    expect(liveClient("svc-exp")).toBeDefined();
    expect(tenancy().expiryOf(liveClient("svc-exp")!)).toBe(exp);
    const k = await gone;
    expect(k.reasonCode).toBe(0x87);
    expect(k.reasonString).toBe("token expired");
    expect(k.closedAt).toBeGreaterThanOrEqual(exp);
    expect(k.closedAt - exp).toBeLessThanOrEqual(MAX_LATE_MS);
    console.log(`token expiry: closed ${k.closedAt - exp} ms after exp`);
    // The verifier still allows 30 s of clock skew past exp, but a session opened now would end at once: refused.
    expect(await refusal(connectRaw(tcp(), { clientId: "svc-exp", username: "svc-exp", password: token }))).toBe(0x86);
    // A fresh token from the provider logs the device in again, with its own exp scheduled.
    const fresh = (await api.oidc.clientCredentialsToken("svc-exp", SECRET)).access_token;
    const again = track(await connectRaw(tcp(), { clientId: "svc-exp", username: "svc-exp", password: fresh }));
    expect(tenancy().expiryOf(liveClient("svc-exp")!)).toBeGreaterThan(Date.now());
    await closeAll(again);
  });

  it("a device certificate closes its connection at its notAfter (0x87 'certificate expired')", async () => {
    const device = acme.devices["cert-1"]!;
    const authority = await ok("POST", "/api/v1/tenants/acme/authorities", { name: "acme devices" });
    // The shortest validity the API allows is one day.
    const issued = await ok("POST", `/api/v1/tenants/acme/devices/${device.id}/certificates`, { authorityId: authority.id, validityDays: 1 });
    const connectCert = () =>
      new Promise<Client>((resolve, reject) => {
        const c = mqtt.connect(`mqtts://127.0.0.1:${mqttService().ports.tls}`, {
          clientId: "cert-1",
          protocolVersion: 5,
          reconnectPeriod: 0,
          connectTimeout: 5000,
          ca: pki.ca,
          cert: issued.certificatePem,
          key: issued.privateKeyPem,
        });
        c.once("connect", () => resolve(track(c)));
        c.once("error", (err: Error & { code?: number }) => {
          c.end(true);
          reject(Object.assign(new Error(err.message), { code: err.code }));
        });
      });

    // With the certificate as issued, its notAfter (one day out) is scheduled.
    const first = await connectCert();
    expect(tenancy().expiryOf(liveClient("cert-1")!)).toBe(new Date(issued.notAfter).getTime() + 1);
    await closeAll(first);
    await until(() => !liveClient("cert-1"));

    // The broker trusts the notAfter recorded for the issued certificate (it matches certificates by
    // fingerprint, not by chain). Recording a notAfter 2 s from now stands in for a day passing.
    const notAfter = new Date(Date.now() + 2000);
    await api.broker.app.get(DatabaseService).db.deviceCertificate.update({ where: { id: issued.id }, data: { notAfter } });
    const c = await connectCert();
    const gone = kicked(c);
    expect(tenancy().expiryOf(liveClient("cert-1")!)).toBe(notAfter.getTime() + 1);
    const k = await gone;
    expect(k.reasonCode).toBe(0x87);
    expect(k.reasonString).toBe("certificate expired");
    expect(k.closedAt).toBeGreaterThan(notAfter.getTime());
    expect(k.closedAt - notAfter.getTime()).toBeLessThanOrEqual(MAX_LATE_MS);
    console.log(`certificate expiry: closed ${k.closedAt - notAfter.getTime()} ms after notAfter`);
    await expect(connectCert()).rejects.toMatchObject({ code: 0x87 });
  });

  it("closed connections leave nothing scheduled, and a login without expiry schedules nothing", async () => {
    const watch = track(await connectDevice(tcp(), "acme", acme.devices.watch!));
    expect(tenancy().expiryOf(liveClient("watch")!)).toBeUndefined();
    await closeAll(...clients);
    await until(() => [...mqttService().broker.clients()].length === 0);
    expect(tenancy().scheduledExpiries).toBe(0);
    expect(watch.connected).toBe(false);
  });
});
