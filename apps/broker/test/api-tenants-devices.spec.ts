import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DB_KINDS, startApi, type Api } from "./api-harness.ts";

/**
 * Tenants and devices through the admin API, on the embedded database and on
 * a real Postgres server: who may do what, tenants never see each other, bad
 * input changes nothing, and every change is audited.
 */
describe.each(DB_KINDS)("admin API: tenants and devices (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeViewer: string;
  let globexAdmin: string;

  beforeAll(async () => {
    api = await startApi(db);
    for (const slug of ["acme", "globex"]) {
      const r = await api.call("POST", "/api/v1/tenants", { token: api.admin, body: { slug, name: slug.toUpperCase() } });
      expect(r.status).toBe(201);
    }
    acmeAdmin = await api.userToken("alice", ["/tenants/acme/tenant_admin"]);
    acmeViewer = await api.userToken("vera", ["/tenants/acme/tenant_viewer"]);
    globexAdmin = await api.userToken("gina", ["/tenants/globex/tenant_admin"]);
  }, 60_000);
  afterAll(async () => api?.close());

  it("401 without a token, with garbage, with an expired or foreign-signed token", async () => {
    expect((await api.call("GET", "/api/v1/tenants")).status).toBe(401);
    expect((await api.call("GET", "/api/v1/tenants", { token: "garbage" })).status).toBe(401);
    const expired = await api.oidc.mintAccessToken({ sub: "x", groups: ["/tenants/acme/tenant_admin"] }, { expiresIn: -120 });
    const foreign = await api.oidc.mintAccessToken({ sub: "x", groups: ["/tenants/acme/tenant_admin"] }, { signWithForeignKey: true });
    const wrongAud = await api.oidc.mintAccessToken({ sub: "x" }, { audience: "someone-else" });
    const wrongIss = await api.oidc.mintAccessToken({ sub: "x" }, { issuer: "http://127.0.0.1:1/realms/evil" });
    for (const token of [expired, foreign, wrongAud, wrongIss]) {
      const r = await api.call("GET", "/api/v1/tenants/acme", { token });
      expect(r.status).toBe(401);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
  });

  it("a tenant admin lists only its own tenant and cannot see another (404, like a missing one)", async () => {
    const list = await api.call("GET", "/api/v1/tenants", { token: acmeAdmin });
    expect(list.body.items.map((t: { slug: string }) => t.slug)).toEqual(["acme"]);
    expect((await api.call("GET", "/api/v1/tenants/globex", { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/tenants/nope", { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/tenants/globex/devices", { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", "/api/v1/tenants/globex/devices", { token: acmeAdmin, body: { clientId: "x" } })).status).toBe(404);
  });

  it("only platform admins create tenants or change status and quotas (403)", async () => {
    expect((await api.call("POST", "/api/v1/tenants", { token: acmeAdmin, body: { slug: "mine", name: "Mine" } })).status).toBe(403);
    const r = await api.call("PATCH", "/api/v1/tenants/acme", { token: acmeAdmin, body: { status: "suspended" } });
    expect(r.status).toBe(403);
    const ok = await api.call("PATCH", "/api/v1/tenants/acme", { token: acmeAdmin, body: { name: "Acme Corp" } });
    expect(ok.status).toBe(200);
    expect(ok.body.name).toBe("Acme Corp");
    const quota = await api.call("PATCH", "/api/v1/tenants/acme", { token: api.admin, body: { quotas: { maxConnections: 500 } } });
    expect(quota.body.quotas.maxConnections).toBe(500);
  });

  it("device CRUD with pagination and filters, within the tenant", async () => {
    for (let i = 0; i < 7; i++) {
      const r = await api.call("POST", "/api/v1/tenants/acme/devices", {
        token: acmeAdmin,
        body: { clientId: `sensor-${i}`, tags: i % 2 ? ["odd"] : ["even"], description: `Sensor ${i}` },
      });
      expect(r.status).toBe(201);
    }
    const page2 = await api.call("GET", "/api/v1/tenants/acme/devices?page=2&pageSize=3", { token: acmeViewer });
    expect(page2.body.total).toBe(7);
    expect(page2.body.items.map((d: { clientId: string }) => d.clientId)).toEqual(["sensor-3", "sensor-4", "sensor-5"]);
    const odd = await api.call("GET", "/api/v1/tenants/acme/devices?tag=odd", { token: acmeViewer });
    expect(odd.body.total).toBe(3);
    const q = await api.call("GET", "/api/v1/tenants/acme/devices?q=sensor-6", { token: acmeViewer });
    expect(q.body.items).toHaveLength(1);

    // The same client id in another tenant is another device.
    const other = await api.call("POST", "/api/v1/tenants/globex/devices", { token: globexAdmin, body: { clientId: "sensor-1" } });
    expect(other.status).toBe(201);
    expect((await api.call("GET", "/api/v1/tenants/globex/devices", { token: globexAdmin })).body.total).toBe(1);

    // A device id from another tenant is not found through this tenant's path.
    expect((await api.call("GET", `/api/v1/tenants/acme/devices/${other.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `/api/v1/tenants/acme/devices/${other.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("GET", `/api/v1/tenants/globex/devices/${other.body.id}`, { token: globexAdmin })).status).toBe(200);
  });

  it("viewers cannot change anything (403) and nothing changes", async () => {
    const before = await api.call("GET", "/api/v1/tenants/acme/devices", { token: acmeViewer });
    const id = before.body.items[0].id as string;
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeViewer, body: { clientId: "v" } })).status).toBe(403);
    expect((await api.call("PATCH", `/api/v1/tenants/acme/devices/${id}`, { token: acmeViewer, body: { enabled: false } })).status).toBe(403);
    expect((await api.call("DELETE", `/api/v1/tenants/acme/devices/${id}`, { token: acmeViewer })).status).toBe(403);
    const after = await api.call("GET", "/api/v1/tenants/acme/devices", { token: acmeViewer });
    expect(after.body).toEqual(before.body);
  });

  it("bad input gets a 4xx problem and changes nothing", async () => {
    const count = async () => (await api.call("GET", "/api/v1/tenants/acme/devices", { token: acmeAdmin })).body.total as number;
    const before = await count();
    const cases: [unknown, number, string][] = [
      [{ clientId: 42 }, 400, "clientId"],
      [{ clientId: "ok", colour: "red" }, 400, ""],
      [{ clientId: "x".repeat(257) }, 400, "clientId"],
      [{ clientId: "" }, 400, "clientId"],
      [{ clientId: "a\u0000b" }, 400, "clientId"],
      [{ clientId: "ok2", tags: ["has space"] }, 400, "tags.0"],
      [{ clientId: "sensor-1" }, 409, ""],
    ];
    for (const [body, status, path] of cases) {
      const r = await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, raw: "{not json" })).status).toBe(400);
    // Above the default 1 MB body limit.
    const huge = JSON.stringify({ clientId: "big", description: "x".repeat(1_100_000) });
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, raw: huge })).status).toBe(413);
    expect((await api.call("GET", "/api/v1/tenants/acme/devices/not-a-uuid", { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("GET", "/api/v1/tenants/ACME!/devices", { token: acmeAdmin })).status).toBe(400);
    expect(await count()).toBe(before);
  });

  it("every change is in the audit log with actor, before and after, and no secrets", async () => {
    const created = await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId: "audited" } });
    await api.call("PATCH", `/api/v1/tenants/acme/devices/${created.body.id}`, { token: acmeAdmin, body: { enabled: false } });
    await api.call("DELETE", `/api/v1/tenants/acme/devices/${created.body.id}`, { token: acmeAdmin });
    const audit = await api.call("GET", `/api/v1/tenants/acme/audit?resource=device`, { token: acmeAdmin });
    expect(audit.status).toBe(200);
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === created.body.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["device.delete", "device.update", "device.create"]);
    expect(mine[1].before.enabled).toBe(true);
    expect(mine[1].after.enabled).toBe(false);
    expect(mine[0].actor).toMatch(/^user:/);
    // Another tenant's admin sees none of it.
    const other = await api.call("GET", `/api/v1/tenants/globex/audit?resource=device`, { token: globexAdmin });
    expect(other.body.items.some((e: { resourceId: string }) => e.resourceId === created.body.id)).toBe(false);
  });
});

describe("embedded database under concurrent requests", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi("embedded");
  }, 60_000);
  afterAll(async () => api?.close());

  it("40 requests at once, writes and reads mixed, all succeed and none sees another's data", async () => {
    await api.call("POST", "/api/v1/tenants", { token: api.admin, body: { slug: "busy", name: "Busy" } });
    const writes = Array.from({ length: 20 }, (_, i) =>
      api.call("POST", "/api/v1/tenants/busy/devices", { token: api.admin, body: { clientId: `c-${i}`, tags: [`t${i}`] } }),
    );
    const reads = Array.from({ length: 20 }, () => api.call("GET", "/api/v1/tenants/busy/devices?pageSize=200", { token: api.admin }));
    const results = await Promise.all([...writes, ...reads]);
    expect(results.map((r) => r.status).filter((s) => s >= 400)).toEqual([]);
    for (const [i, r] of results.slice(0, 20).entries()) {
      expect(r.body.clientId).toBe(`c-${i}`);
      expect(r.body.tags).toEqual([`t${i}`]);
    }
    const all = await api.call("GET", "/api/v1/tenants/busy/devices?pageSize=200", { token: api.admin });
    expect(all.body.total).toBe(20);
    const audit = await api.call("GET", "/api/v1/tenants/busy/audit?resource=device&pageSize=200", { token: api.admin });
    expect(audit.body.total).toBe(20);
  });
});
