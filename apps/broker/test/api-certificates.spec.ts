import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService, type ChangeEvent } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

/** A P-256 key and CSR made by openssl, as a device would; the CSR asks for a subject it will not get. */
function makeCsr(dir: string, name: string): { csrPem: string; keyPem: string; csrDer: Buffer } {
  execFileSync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", "/CN=root/O=globex"], {
    cwd: dir,
    stdio: "ignore",
  });
  execFileSync("openssl", ["req", "-in", `${name}.csr`, "-outform", "DER", "-out", `${name}.der`], { cwd: dir, stdio: "ignore" });
  return {
    csrPem: readFileSync(path.join(dir, `${name}.csr`), "utf8"),
    keyPem: readFileSync(path.join(dir, `${name}.key`), "utf8"),
    csrDer: readFileSync(path.join(dir, `${name}.der`)),
  };
}

/**
 * Device certificates through the admin API: issued from a device's CSR or
 * with a generated key (shown once, stored nowhere), by a CA of the same
 * tenant that is neither revoked nor expired; revocation with a reason,
 * once; operators may issue and revoke, viewers only read; tenants never
 * see each other's certificates; bad input changes nothing; every change is
 * audited without key material.
 */
describe.each(DB_KINDS)("admin API: device certificates (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  let device: { id: string; clientId: string };
  let otherDevice: { id: string };
  let globexDevice: { id: string };
  let ca: { id: string; certificatePem: string };
  let globexCa: { id: string };
  let dir: string;
  let acmeId: string;
  const events: ChangeEvent[] = [];
  let csr: ReturnType<typeof makeCsr>;
  let fromCsr: { id: string; certificatePem: string };
  let generated: { id: string; certificatePem: string; privateKeyPem: string };

  const certs = () => `/api/v1/tenants/acme/devices/${device.id}/certificates`;
  const prisma = () => api.broker.app.get(DatabaseService).db;
  const snapshot = async () => {
    const list = await api.call("GET", `${certs()}?pageSize=200`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    return { list: list.body, rows: await prisma().deviceCertificate.count(), auditTotal: audit.body.total as number, events: events.length };
  };
  const download = async (p: string, token: string) => {
    const res = await fetch(api.url + p, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };
  const post = async (slug: string, token: string, pathname: string, body: unknown) => {
    const r = await api.call("POST", `/api/v1/tenants/${slug}/${pathname}`, { token, body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-certs-"));
    csr = makeCsr(dir, "device");
    api = await startApi(db);
    api.broker.app.get(DatabaseService).onChange((e) => events.push(e));
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    device = await post("acme", acmeAdmin, "devices", { clientId: "sensor-1" });
    otherDevice = await post("acme", acmeAdmin, "devices", { clientId: "sensor-2" });
    globexDevice = await post("globex", globexAdmin, "devices", { clientId: "sensor-1" });
    ca = await post("acme", acmeAdmin, "authorities", { name: "Acme devices", validityDays: 30 });
    globexCa = await post("globex", globexAdmin, "authorities", { name: "Globex devices" });
    acmeId = (await api.call("GET", "/api/v1/tenants/acme", { token: acmeAdmin })).body.id;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an operator issues from a CSR: the subject is the device's, the key is the CSR's, the CA signed it", async () => {
    const r = await api.call("POST", certs(), { token: acmeOperator, body: { authorityId: ca.id, csrPem: csr.csrPem, validityDays: 10 } });
    expect(r.status).toBe(201);
    expect(schemas.certificate.strict().parse(r.body)).toEqual(r.body);
    expect(r.body).not.toHaveProperty("privateKeyPem");
    fromCsr = r.body;
    expect(events.at(-1)).toEqual({ kind: "certificate", tenantId: acmeId, id: r.body.id });

    const cert = new X509Certificate(r.body.certificatePem);
    const caCert = new X509Certificate(ca.certificatePem);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(csr.keyPem))).toBe(true);
    expect(cert.ca).toBe(false);
    expect(r.body.subject).toBe("CN=sensor-1, O=acme");
    expect(r.body).toMatchObject({ deviceId: device.id, authorityId: ca.id, revokedAt: null, revocationReason: null });
    expect(r.body.serialNumber.toLowerCase()).toBe(cert.serialNumber.toLowerCase());
    expect(r.body.fingerprintSha256).toBe(cert.fingerprint256.replaceAll(":", "").toLowerCase());
    expect(Math.round((new Date(r.body.notAfter).getTime() - new Date(r.body.notBefore).getTime()) / 86_400_000)).toBe(10);
  });

  it("issues with a generated key: the private key comes back once and is stored nowhere", async () => {
    const r = await api.call("POST", certs(), { token: acmeOperator, body: { authorityId: ca.id } });
    expect(r.status).toBe(201);
    expect(schemas.issuedCertificate.strict().parse(r.body)).toEqual(r.body);
    generated = r.body;
    const cert = new X509Certificate(r.body.certificatePem);
    expect(cert.checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(r.body.privateKeyPem))).toBe(true);
    // 365 days by default, clamped to the 30-day CA.
    expect(new Date(r.body.notAfter).getTime()).toBeLessThanOrEqual(new Date(new X509Certificate(ca.certificatePem).validTo).getTime());

    const again = await api.call("GET", `${certs()}/${r.body.id}`, { token: acmeViewer });
    expect(again.body).not.toHaveProperty("privateKeyPem");
    const { privateKeyPem: _key, ...rest } = r.body;
    expect(again.body).toEqual(rest);
    const keyBody = r.body.privateKeyPem.split("\n")[1] as string;
    const row = await prisma().deviceCertificate.findUniqueOrThrow({ where: { id: r.body.id } });
    expect(JSON.stringify(row)).not.toContain(keyBody);
    expect(JSON.stringify(row)).not.toContain("PRIVATE KEY");
  });

  it("lists and gets a device's certificates (viewers too) and downloads the PEM", async () => {
    const list = await api.call("GET", certs(), { token: acmeViewer });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([fromCsr.id, generated.id]);
    expect(JSON.stringify(list.body)).not.toContain("PRIVATE KEY");
    expect((await api.call("GET", `${certs()}?pageSize=1&page=2`, { token: acmeViewer })).body.items[0].id).toBe(generated.id);
    expect((await api.call("GET", `${certs()}/${fromCsr.id}`, { token: acmeViewer })).body).toEqual(fromCsr);
    // Another device's list is its own.
    expect((await api.call("GET", `/api/v1/tenants/acme/devices/${otherDevice.id}/certificates`, { token: acmeViewer })).body.total).toBe(0);

    const pem = await download(`${certs()}/${fromCsr.id}/certificate.pem`, acmeViewer);
    expect(pem.status).toBe(200);
    expect(pem.type).toMatch(/^application\/x-pem-file/);
    expect(pem.text).toBe(fromCsr.certificatePem);
  });

  it("a certificate is found only under its own device and tenant (404 otherwise)", async () => {
    const before = await snapshot();
    const other = `/api/v1/tenants/acme/devices/${otherDevice.id}/certificates/${fromCsr.id}`;
    expect((await api.call("GET", other, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", `${other}/revoke`, { token: acmeAdmin, body: {} })).status).toBe(404);
    expect((await download(`${other}/certificate.pem`, acmeAdmin)).status).toBe(404);

    // Globex's admin: acme's path is 404, and acme's ids through globex's path are 404.
    expect((await api.call("GET", certs(), { token: globexAdmin })).status).toBe(404);
    expect((await api.call("GET", `${certs()}/${fromCsr.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", certs(), { token: globexAdmin, body: { authorityId: globexCa.id } })).status).toBe(404);
    expect((await api.call("POST", `${certs()}/${fromCsr.id}/revoke`, { token: globexAdmin, body: {} })).status).toBe(404);
    const viaGlobex = `/api/v1/tenants/globex/devices/${device.id}/certificates`;
    expect((await api.call("GET", viaGlobex, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", viaGlobex, { token: globexAdmin, body: { authorityId: globexCa.id } })).status).toBe(404);
    const globexPath = `/api/v1/tenants/globex/devices/${globexDevice.id}/certificates`;
    expect((await api.call("GET", `${globexPath}/${fromCsr.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", `${globexPath}/${fromCsr.id}/revoke`, { token: globexAdmin, body: {} })).status).toBe(404);
    expect((await download(`${globexPath}/${fromCsr.id}/certificate.pem`, globexAdmin)).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("the CA must be this tenant's, not revoked and not expired", async () => {
    const before = await snapshot();
    // Globex's CA named from acme: not found, exactly like a CA that does not exist.
    const foreign = await api.call("POST", certs(), { token: acmeAdmin, body: { authorityId: globexCa.id } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.detail).toMatch(/authority/i);
    expect((await api.call("POST", certs(), { token: acmeAdmin, body: { authorityId: "00000000-0000-4000-8000-000000000000" } })).status).toBe(404);
    // ...and globex cannot sign for its own device with acme's CA.
    const globexPath = `/api/v1/tenants/globex/devices/${globexDevice.id}/certificates`;
    expect((await api.call("POST", globexPath, { token: globexAdmin, body: { authorityId: ca.id } })).status).toBe(404);

    const revoked = await post("acme", acmeAdmin, "authorities", { name: "Revoked" });
    expect((await api.call("POST", `/api/v1/tenants/acme/authorities/${revoked.id}/revoke`, { token: acmeAdmin })).status).toBe(200);
    const expired = await post("acme", acmeAdmin, "authorities", { name: "Expired", validityDays: 1 });
    await prisma().certificateAuthority.update({ where: { id: expired.id }, data: { notAfter: new Date(Date.now() - 1000) } });
    const mid = await snapshot();
    for (const authorityId of [revoked.id, expired.id]) {
      for (const body of [{ authorityId }, { authorityId, csrPem: csr.csrPem }]) {
        const r = await api.call("POST", certs(), { token: acmeAdmin, body });
        expect(r.status).toBe(409);
        expect(r.headers.get("content-type")).toContain("application/problem+json");
      }
    }
    expect(await snapshot()).toEqual(mid);
    expect(mid.list).toEqual(before.list);
  });

  it("a rejected CSR is a 400 problem with the reason, and nothing is issued", async () => {
    const before = await snapshot();
    const tampered = Buffer.from(csr.csrDer);
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 0xff;
    const badSignature = `-----BEGIN CERTIFICATE REQUEST-----\n${tampered.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    const cases: [string, RegExp][] = [
      ["garbage", /PKCS#10/],
      ["", /PKCS#10/],
      ["-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", /PKCS#10/],
      [ca.certificatePem, /PKCS#10/],
      [badSignature, /signature/],
    ];
    for (const [csrPem, reason] of cases) {
      const r = await api.call("POST", certs(), { token: acmeOperator, body: { authorityId: ca.id, csrPem } });
      expect(r.status, csrPem.slice(0, 40)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.detail).toMatch(reason);
      expect(r.body.errors).toEqual([{ path: "csrPem", message: expect.stringMatching(reason) }]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad input gets a 4xx problem and changes nothing", async () => {
    const before = await snapshot();
    const cases: [unknown, string][] = [
      [{}, "authorityId"],
      [{ authorityId: "not-a-uuid" }, "authorityId"],
      [{ authorityId: 42 }, "authorityId"],
      [{ authorityId: ca.id, colour: "red" }, ""],
      [{ authorityId: ca.id, privateKeyPem: "x" }, ""],
      [{ authorityId: ca.id, csrPem: 7 }, "csrPem"],
      [{ authorityId: ca.id, csrPem: "x".repeat(16_385) }, "csrPem"],
      [{ authorityId: ca.id, validityDays: 0 }, "validityDays"],
      [{ authorityId: ca.id, validityDays: 3651 }, "validityDays"],
      [{ authorityId: ca.id, validityDays: "10" }, "validityDays"],
    ];
    for (const [body, p] of cases) {
      const r = await api.call("POST", certs(), { token: acmeOperator, body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (p) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(p);
    }
    expect((await api.call("POST", certs(), { token: acmeOperator, raw: "{nope" })).status).toBe(400);
    const base = "/api/v1/tenants/acme/devices";
    expect((await api.call("GET", `${base}/not-a-uuid/certificates`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("POST", `${base}/not-a-uuid/certificates`, { token: acmeAdmin, body: { authorityId: ca.id } })).status).toBe(400);
    expect((await api.call("GET", `${certs()}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("POST", `${certs()}/not-a-uuid/revoke`, { token: acmeAdmin, body: {} })).status).toBe(400);
    const missingDevice = `${base}/00000000-0000-4000-8000-000000000000/certificates`;
    expect((await api.call("GET", missingDevice, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", missingDevice, { token: acmeAdmin, body: { authorityId: ca.id } })).status).toBe(404);
    expect((await api.call("GET", `${certs()}/00000000-0000-4000-8000-000000000000`, { token: acmeAdmin })).status).toBe(404);
    for (const body of [{ reason: "bored" }, { reason: "superseded", when: "now" }, { reason: 1 }]) {
      const r = await api.call("POST", `${certs()}/${fromCsr.id}/revoke`, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("viewers cannot issue or revoke (403) and nothing changes", async () => {
    const before = await snapshot();
    expect((await api.call("POST", certs(), { token: acmeViewer, body: { authorityId: ca.id } })).status).toBe(403);
    expect((await api.call("POST", `${certs()}/${fromCsr.id}/revoke`, { token: acmeViewer, body: {} })).status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it("an operator revokes with a reason, once; revoking again is 409", async () => {
    const r = await api.call("POST", `${certs()}/${fromCsr.id}/revoke`, { token: acmeOperator, body: { reason: "key_compromise" } });
    expect(r.status).toBe(200);
    expect(r.body.revocationReason).toBe("key_compromise");
    expect(Date.now() - new Date(r.body.revokedAt).getTime()).toBeLessThan(60_000);
    expect({ ...r.body, revokedAt: null, revocationReason: null }).toEqual(fromCsr);
    // The broker learns of it (to drop sessions that authenticated with this certificate).
    expect(events.at(-1)).toEqual({ kind: "certificate", tenantId: acmeId, id: fromCsr.id });
    const before = await snapshot();
    const again = await api.call("POST", `${certs()}/${fromCsr.id}/revoke`, { token: acmeAdmin, body: { reason: "superseded" } });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect(await snapshot()).toEqual(before);
    expect((await api.call("GET", `${certs()}/${fromCsr.id}`, { token: acmeViewer })).body.revocationReason).toBe("key_compromise");

    // The reason defaults to "unspecified"; a body may be omitted.
    const d = await api.call("POST", `${certs()}/${generated.id}/revoke`, { token: acmeOperator });
    expect(d.status).toBe(200);
    expect(d.body.revocationReason).toBe("unspecified");
  });

  it("audits issuance and revocation with the actor, and no key material anywhere in the log", async () => {
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=certificate&pageSize=200", { token: acmeAdmin });
    const of = (id: string) => audit.body.items.filter((e: { resourceId: string }) => e.resourceId === id);
    expect(of(fromCsr.id).map((e: { action: string }) => e.action)).toEqual(["certificate.revoke", "certificate.issue"]);
    expect(of(generated.id).map((e: { action: string }) => e.action)).toEqual(["certificate.revoke", "certificate.issue"]);
    const [revoke, issue] = of(fromCsr.id);
    expect(issue.actor).toMatch(/^user:/);
    expect(issue.after).toMatchObject({ id: fromCsr.id, deviceId: device.id, authorityId: ca.id, fingerprintSha256: (fromCsr as any).fingerprintSha256, keyGenerated: false });
    expect(of(generated.id)[1].after.keyGenerated).toBe(true);
    expect(revoke.before.revokedAt).toBeNull();
    expect(revoke.after.revocationReason).toBe("key_compromise");

    const everything = JSON.stringify((await api.call("GET", "/api/v1/audit?pageSize=200", { token: api.admin })).body);
    expect(everything).not.toMatch(/PRIVATE KEY|encryptedPrivateKey|privateKeyPem/);
    expect(everything).not.toContain(generated.privateKeyPem.split("\n")[1]);
    for (const row of await prisma().certificateAuthority.findMany({ select: { encryptedPrivateKey: true } })) {
      expect(everything).not.toContain(row.encryptedPrivateKey.slice(3, 40));
    }
  });
});
