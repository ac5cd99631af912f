import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlatformKeys } from "../src/common/platform-keys.ts";
import { SecretBox } from "../src/common/secret-box.ts";
import { DatabaseService, type ChangeEvent } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

/**
 * Tenant certificate authorities through the admin API: the CA private key
 * is sealed at rest and never leaves the broker (not in a response, not in
 * the audit log); only tenant admins create or revoke; tenants never see
 * each other's CAs; bad input changes nothing.
 */
describe.each(DB_KINDS)("admin API: certificate authorities (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  let acmeCa: { id: string; certificatePem: string };
  let acmeId: string;
  const events: ChangeEvent[] = [];

  const base = "/api/v1/tenants/acme/authorities";
  const prisma = () => api.broker.app.get(DatabaseService).db;
  const snapshot = async () => {
    const list = await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    return { list: list.body, auditTotal: audit.body.total as number, events: events.length };
  };
  /** A PEM download: the harness parses JSON, so this goes to fetch directly. */
  const download = async (path: string, token: string) => {
    const res = await fetch(api.url + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get("content-type"), disposition: res.headers.get("content-disposition"), text: await res.text() };
  };

  beforeAll(async () => {
    api = await startApi(db);
    api.broker.app.get(DatabaseService).onChange((e) => events.push(e));
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    acmeId = (await api.call("GET", "/api/v1/tenants/acme", { token: acmeAdmin })).body.id;
  }, 60_000);
  afterAll(async () => api?.close());

  it("a tenant admin creates a CA; the response has the certificate and no private key", async () => {
    const r = await api.call("POST", base, { token: acmeAdmin, body: { name: "Acme devices", validityDays: 30 } });
    expect(r.status).toBe(201);
    expect(schemas.authority.strict().parse(r.body)).toEqual(r.body);
    expect(JSON.stringify(r.body)).not.toMatch(/PRIVATE KEY|encrypted|v1:/i);
    acmeCa = r.body;
    // The set of trusted CAs changed: the broker is told, without a certificate id.
    expect(events.at(-1)).toEqual({ kind: "certificate", tenantId: acmeId });

    const cert = new X509Certificate(r.body.certificatePem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain("CN=Acme devices");
    expect(cert.subject).toContain("O=acme");
    expect(cert.checkIssued(cert)).toBe(true); // self-signed root
    expect(r.body.fingerprintSha256).toBe(createHash("sha256").update(cert.raw).digest("hex"));
    expect(new Date(r.body.notAfter).getTime() - new Date(r.body.notBefore).getTime()).toBe(30 * 86_400_000);
    expect(new Date(cert.validTo).getTime()).toBe(Math.floor(new Date(r.body.notAfter).getTime() / 1000) * 1000);
    expect(r.body.revokedAt).toBeNull();

    // validityDays defaults to ten years.
    const d = await api.call("POST", base, { token: acmeAdmin, body: { name: "Long-lived" } });
    expect(d.status).toBe(201);
    expect(Math.round((new Date(d.body.notAfter).getTime() - new Date(d.body.notBefore).getTime()) / 86_400_000)).toBe(3650);
  });

  it("lists and gets CAs (viewers too) and downloads the PEM as application/x-pem-file", async () => {
    const list = await api.call("GET", base, { token: acmeViewer });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.items[0]).toEqual(acmeCa);
    const page = await api.call("GET", `${base}?page=2&pageSize=1`, { token: acmeViewer });
    expect(page.body.items).toHaveLength(1);
    expect(page.body.items[0].name).toBe("Long-lived");

    const one = await api.call("GET", `${base}/${acmeCa.id}`, { token: acmeViewer });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(acmeCa);

    const pem = await download(`${base}/${acmeCa.id}/certificate.pem`, acmeViewer);
    expect(pem.status).toBe(200);
    expect(pem.type).toMatch(/^application\/x-pem-file/);
    expect(pem.disposition).toBe(`attachment; filename="${acmeCa.id}.pem"`);
    expect(pem.text).toBe(acmeCa.certificatePem);
    expect(new X509Certificate(pem.text).fingerprint256.replaceAll(":", "").toLowerCase()).toBe(one.body.fingerprintSha256);
  });

  it("keeps the CA private key sealed in the database, and only the platform key opens it", async () => {
    const row = await prisma().certificateAuthority.findUniqueOrThrow({ where: { id: acmeCa.id } });
    expect(row.encryptedPrivateKey).toMatch(/^v1:[A-Za-z0-9+/=]+$/);
    expect(row.encryptedPrivateKey).not.toContain("PRIVATE KEY");
    expect(Buffer.from(row.encryptedPrivateKey.slice(3), "base64").toString("latin1")).not.toContain("PRIVATE KEY");
    const opened = new SecretBox(api.broker.app.get(PlatformKeys).derive("kek")).open(row.encryptedPrivateKey);
    expect(opened).toContain("BEGIN PRIVATE KEY");
    expect(new X509Certificate(acmeCa.certificatePem).checkPrivateKey(createPrivateKey(opened))).toBe(true);
    // Not under the other derived key.
    expect(() => new SecretBox(api.broker.app.get(PlatformKeys).derive("local-session")).open(row.encryptedPrivateKey)).toThrow();
  });

  it("another tenant's admin gets 404 for this tenant's CAs, by path and by id", async () => {
    const globexCa = await api.call("POST", "/api/v1/tenants/globex/authorities", { token: globexAdmin, body: { name: "Globex" } });
    expect(globexCa.status).toBe(201);
    const before = await snapshot();
    expect((await api.call("GET", base, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: globexAdmin, body: { name: "Intruder" } })).status).toBe(404);
    expect((await api.call("GET", `${base}/${acmeCa.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", `${base}/${acmeCa.id}/revoke`, { token: globexAdmin })).status).toBe(404);
    expect((await download(`${base}/${acmeCa.id}/certificate.pem`, globexAdmin)).status).toBe(404);
    // Acme's id through globex's own path is not found either.
    const g = "/api/v1/tenants/globex/authorities";
    expect((await api.call("GET", `${g}/${acmeCa.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", `${g}/${acmeCa.id}/revoke`, { token: globexAdmin })).status).toBe(404);
    expect((await download(`${g}/${acmeCa.id}/certificate.pem`, globexAdmin)).status).toBe(404);
    // And the reverse: acme's admin cannot reach globex's CA through acme's path.
    expect((await api.call("GET", `${base}/${globexCa.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("GET", g, { token: globexAdmin })).body.items.map((a: { id: string }) => a.id)).toEqual([globexCa.body.id]);
    expect(await snapshot()).toEqual(before);
  });

  it("only tenant admins create or revoke CAs (operators and viewers get 403) and nothing changes", async () => {
    const before = await snapshot();
    for (const token of [acmeOperator, acmeViewer]) {
      const c = await api.call("POST", base, { token, body: { name: "Nope" } });
      expect(c.status).toBe(403);
      expect(c.headers.get("content-type")).toContain("application/problem+json");
      expect((await api.call("POST", `${base}/${acmeCa.id}/revoke`, { token })).status).toBe(403);
      expect((await api.call("GET", `${base}/${acmeCa.id}`, { token })).status).toBe(200);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad input gets a 400 problem and changes nothing", async () => {
    const before = await snapshot();
    const cases: [unknown, string][] = [
      [{ name: 42 }, "name"],
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "   " }, "name"],
      [{ name: "x".repeat(201) }, "name"],
      [{ name: "ok", colour: "red" }, ""],
      [{ name: "ok", validityDays: 0 }, "validityDays"],
      [{ name: "ok", validityDays: 7301 }, "validityDays"],
      [{ name: "ok", validityDays: 1.5 }, "validityDays"],
      [{ name: "ok", validityDays: "30" }, "validityDays"],
      [{ name: "ok", privateKeyPem: "-----BEGIN PRIVATE KEY-----" }, ""],
    ];
    for (const [body, path] of cases) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "{not json" })).status).toBe(400);
    expect((await api.call("POST", base, { token: acmeAdmin, raw: JSON.stringify({ name: "x".repeat(1_100_000) }) })).status).toBe(413);
    for (const path of [`${base}/not-a-uuid`, `${base}/not-a-uuid/certificate.pem`]) {
      expect((await api.call("GET", path, { token: acmeAdmin })).status).toBe(400);
    }
    expect((await api.call("POST", `${base}/not-a-uuid/revoke`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("GET", `${base}?pageSize=500`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("GET", `${base}?sort=name`, { token: acmeAdmin })).status).toBe(400);
    const missing = "00000000-0000-4000-8000-000000000000";
    expect((await api.call("GET", `${base}/${missing}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", `${base}/${missing}/revoke`, { token: acmeAdmin })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("revokes a CA once; revoking again is 409", async () => {
    const ca = await api.call("POST", base, { token: acmeAdmin, body: { name: "To revoke", validityDays: 5 } });
    const r = await api.call("POST", `${base}/${ca.body.id}/revoke`, { token: acmeAdmin });
    expect(r.status).toBe(200);
    expect(Date.now() - new Date(r.body.revokedAt).getTime()).toBeLessThan(60_000);
    expect({ ...r.body, revokedAt: null }).toEqual(ca.body);
    expect(events.at(-1)).toEqual({ kind: "certificate", tenantId: acmeId });
    const before = await snapshot();
    const again = await api.call("POST", `${base}/${ca.body.id}/revoke`, { token: acmeAdmin });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect(await snapshot()).toEqual(before);
    expect((await api.call("GET", `${base}/${ca.body.id}`, { token: acmeViewer })).body.revokedAt).toBe(r.body.revokedAt);
  });

  it("audits creation and revocation with the actor, and no private or sealed key anywhere in the log", async () => {
    const ca = await api.call("POST", base, { token: acmeAdmin, body: { name: "Audited" } });
    await api.call("POST", `${base}/${ca.body.id}/revoke`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=authority&pageSize=200", { token: acmeAdmin });
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === ca.body.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["authority.revoke", "authority.create"]);
    expect(mine[1].after.fingerprintSha256).toBe(ca.body.fingerprintSha256);
    expect(mine[0].before.revokedAt).toBeNull();
    expect(mine[0].after.revokedAt).not.toBeNull();
    expect(mine[0].actor).toMatch(/^user:/);
    // One creation event per CA the tenant has, including those made by the earlier tests.
    const total = (await api.call("GET", base, { token: acmeAdmin })).body.total as number;
    expect(audit.body.items.filter((e: { action: string }) => e.action === "authority.create")).toHaveLength(total);

    const everything = JSON.stringify((await api.call("GET", "/api/v1/audit?pageSize=200", { token: api.admin })).body);
    const sealed = (await prisma().certificateAuthority.findMany({ select: { encryptedPrivateKey: true } })).map((r) => r.encryptedPrivateKey);
    expect(sealed.length).toBeGreaterThan(0);
    expect(everything).not.toMatch(/PRIVATE KEY|encryptedPrivateKey|privateKeyPem/);
    for (const s of sealed) expect(everything).not.toContain(s.slice(3, 40));
  });
});
