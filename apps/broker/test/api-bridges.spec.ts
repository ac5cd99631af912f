import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

/**
 * Bridge configuration through the admin API (the bridging runtime is later
 * work): CRUD with names unique per tenant; only tenant admins write, since a
 * bridge carries the tenant's traffic to another broker; tenants never see
 * each other's bridges; bad input (including credentials in the URL) changes
 * nothing; every change is audited.
 */
describe.each(DB_KINDS)("admin API: bridges (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  let bridge: { id: string; name: string; updatedAt: string };

  const base = "/api/v1/tenants/acme/bridges";
  const snapshot = async () => {
    const list = await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    return { list: list.body, auditTotal: audit.body.total as number };
  };
  const valid = { name: "cloud", remoteUrl: "mqtts://cloud.example.com:8883", direction: "out", localFilter: "telemetry/#" };

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
  }, 60_000);
  afterAll(async () => api?.close());

  it("a tenant admin creates a bridge; defaults are enabled and no remote prefix", async () => {
    const r = await api.call("POST", base, { token: acmeAdmin, body: valid });
    expect(r.status).toBe(201);
    expect(schemas.bridge.strict().parse(r.body)).toEqual(r.body);
    expect(r.body).toMatchObject({ ...valid, enabled: true, remotePrefix: null });
    bridge = r.body;
    const full = { name: "edge", remoteUrl: "wss://edge.example.com/mqtt", direction: "both", localFilter: "devices/+/state", remotePrefix: "acme/", enabled: false };
    const f = await api.call("POST", base, { token: acmeAdmin, body: full });
    expect(f.status).toBe(201);
    expect(f.body).toMatchObject(full);
    for (const [i, remoteUrl] of ["mqtt://10.0.0.1:1883", "ws://[::1]:8083/mqtt"].entries()) {
      expect((await api.call("POST", base, { token: acmeAdmin, body: { ...valid, name: `alt-${i}`, remoteUrl, direction: "in" } })).status).toBe(201);
    }
  });

  it("lists and gets bridges (viewers too)", async () => {
    const list = await api.call("GET", base, { token: acmeViewer });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(4);
    expect(list.body.items.map((b: { name: string }) => b.name)).toEqual(["alt-0", "alt-1", "cloud", "edge"]);
    expect(list.body.items[2]).toEqual(bridge);
    expect((await api.call("GET", `${base}?page=2&pageSize=3`, { token: acmeViewer })).body.items.map((b: { name: string }) => b.name)).toEqual(["edge"]);
    const one = await api.call("GET", `${base}/${bridge.id}`, { token: acmeViewer });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(bridge);
  });

  it("updates only the fields given", async () => {
    const r = await api.call("PATCH", `${base}/${bridge.id}`, { token: acmeAdmin, body: { enabled: false, remotePrefix: "site-1/", direction: "both" } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ...bridge, enabled: false, remotePrefix: "site-1/", direction: "both", updatedAt: r.body.updatedAt });
    expect(new Date(r.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(bridge.updatedAt).getTime());
    const r2 = await api.call("PATCH", `${base}/${bridge.id}`, { token: acmeAdmin, body: { name: "cloud-eu", remoteUrl: "mqtts://eu.example.com", localFilter: "${clientid}/#" } });
    expect(r2.status).toBe(200);
    expect(r2.body).toMatchObject({ name: "cloud-eu", remoteUrl: "mqtts://eu.example.com", localFilter: "${clientid}/#", enabled: false, remotePrefix: "site-1/" });
    expect((await api.call("PATCH", `${base}/${bridge.id}`, { token: acmeAdmin, body: {} })).body).toEqual(expect.objectContaining({ name: "cloud-eu" }));
    expect((await api.call("GET", `${base}/${bridge.id}`, { token: acmeViewer })).body).toMatchObject(r2.body);
    bridge = r2.body;
  });

  it("names are unique per tenant (409); the same name is fine in another tenant", async () => {
    const before = await snapshot();
    expect((await api.call("POST", base, { token: acmeAdmin, body: { ...valid, name: "edge" } })).status).toBe(409);
    const r = await api.call("PATCH", `${base}/${bridge.id}`, { token: acmeAdmin, body: { name: "edge" } });
    expect(r.status).toBe(409);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(await snapshot()).toEqual(before);
    expect((await api.call("PATCH", `${base}/${bridge.id}`, { token: acmeAdmin, body: { name: "cloud-eu" } })).status).toBe(200);
    expect((await api.call("POST", "/api/v1/tenants/globex/bridges", { token: globexAdmin, body: { ...valid, name: "edge" } })).status).toBe(201);
  });

  it("another tenant's admin gets 404 for this tenant's bridges, by path and by id", async () => {
    const before = await snapshot();
    expect((await api.call("GET", base, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: globexAdmin, body: { ...valid, name: "x" } })).status).toBe(404);
    expect((await api.call("GET", `${base}/${bridge.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("PATCH", `${base}/${bridge.id}`, { token: globexAdmin, body: { enabled: true } })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${bridge.id}`, { token: globexAdmin })).status).toBe(404);
    const g = "/api/v1/tenants/globex/bridges";
    expect((await api.call("GET", `${g}/${bridge.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("PATCH", `${g}/${bridge.id}`, { token: globexAdmin, body: { enabled: true } })).status).toBe(404);
    expect((await api.call("DELETE", `${g}/${bridge.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("GET", g, { token: globexAdmin })).body.total).toBe(1);
    expect(await snapshot()).toEqual(before);
  });

  it("operators and viewers cannot write bridges (403) and nothing changes", async () => {
    const before = await snapshot();
    for (const token of [acmeOperator, acmeViewer]) {
      const c = await api.call("POST", base, { token, body: { ...valid, name: "mine" } });
      expect(c.status).toBe(403);
      expect(c.headers.get("content-type")).toContain("application/problem+json");
      expect((await api.call("PATCH", `${base}/${bridge.id}`, { token, body: { enabled: true } })).status).toBe(403);
      expect((await api.call("DELETE", `${base}/${bridge.id}`, { token })).status).toBe(403);
      expect((await api.call("GET", `${base}/${bridge.id}`, { token })).status).toBe(200);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad input gets a 4xx problem and changes nothing", async () => {
    const before = await snapshot();
    const cases: [unknown, string][] = [
      [{ ...valid, name: 42 }, "name"],
      [{ ...valid, name: "" }, "name"],
      [{ ...valid, name: "x".repeat(201) }, "name"],
      [{ ...valid, remoteUrl: "http://cloud.example.com" }, "remoteUrl"],
      [{ ...valid, remoteUrl: "not a url" }, "remoteUrl"],
      [{ ...valid, remoteUrl: "mqtt:no-host" }, "remoteUrl"],
      [{ ...valid, remoteUrl: "mqtts://user:secret@cloud.example.com" }, "remoteUrl"],
      [{ ...valid, remoteUrl: "mqtts://token@cloud.example.com" }, "remoteUrl"],
      [{ ...valid, remoteUrl: `mqtts://cloud.example.com/${"x".repeat(1000)}` }, "remoteUrl"],
      [{ ...valid, direction: "sideways" }, "direction"],
      [{ ...valid, localFilter: "a/#/b" }, "localFilter"],
      [{ ...valid, localFilter: "a+" }, "localFilter"],
      [{ ...valid, localFilter: "${tenant}/x" }, "localFilter"],
      [{ ...valid, localFilter: "$share/g/x" }, "localFilter"],
      [{ ...valid, localFilter: "" }, "localFilter"],
      [{ ...valid, remotePrefix: "x".repeat(1025) }, "remotePrefix"],
      [{ ...valid, remotePrefix: null }, "remotePrefix"],
      [{ ...valid, enabled: "yes" }, "enabled"],
      [{ ...valid, password: "hunter2" }, ""],
      [{ name: "only-a-name" }, "remoteUrl"],
    ];
    for (const [body, path] of cases) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const patches: [unknown, string][] = [
      [{ name: "" }, "name"],
      [{ remoteUrl: "mqtts://user:secret@cloud.example.com" }, "remoteUrl"],
      [{ remoteUrl: "https://cloud.example.com" }, "remoteUrl"],
      [{ direction: "up" }, "direction"],
      [{ localFilter: "a/#/b" }, "localFilter"],
      [{ enabled: 1 }, "enabled"],
      [{ id: bridge.id }, ""],
      [{ tenantId: "00000000-0000-4000-8000-000000000000" }, ""],
    ];
    for (const [body, path] of patches) {
      const r = await api.call("PATCH", `${base}/${bridge.id}`, { token: acmeAdmin, body });
      expect(r.status, `PATCH ${JSON.stringify(body)}`).toBe(400);
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "{" })).status).toBe(400);
    expect((await api.call("POST", base, { token: acmeAdmin, raw: JSON.stringify({ ...valid, name: "big", remotePrefix: "x".repeat(1_100_000) }) })).status).toBe(413);
    expect((await api.call("GET", `${base}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("PATCH", `${base}/not-a-uuid`, { token: acmeAdmin, body: {} })).status).toBe(400);
    expect((await api.call("DELETE", `${base}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("GET", `${base}?pageSize=201`, { token: acmeAdmin })).status).toBe(400);
    const missing = `${base}/00000000-0000-4000-8000-000000000000`;
    expect((await api.call("GET", missing, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("PATCH", missing, { token: acmeAdmin, body: { enabled: true } })).status).toBe(404);
    expect((await api.call("DELETE", missing, { token: acmeAdmin })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("deletes a bridge (204), then it is gone", async () => {
    const r = await api.call("POST", base, { token: acmeAdmin, body: { ...valid, name: "short-lived" } });
    expect((await api.call("DELETE", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(204);
    expect((await api.call("GET", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: acmeAdmin, body: { ...valid, name: "short-lived" } })).status).toBe(201);
  });

  it("audits every change with the actor, before and after; the other tenant sees none of it", async () => {
    const created = await api.call("POST", base, { token: acmeAdmin, body: { ...valid, name: "audited" } });
    await api.call("PATCH", `${base}/${created.body.id}`, { token: acmeAdmin, body: { enabled: false } });
    await api.call("DELETE", `${base}/${created.body.id}`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=bridge&pageSize=200", { token: acmeAdmin });
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === created.body.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["bridge.delete", "bridge.update", "bridge.create"]);
    expect(mine[2].after).toMatchObject({ ...valid, name: "audited", enabled: true });
    expect(mine[1].before.enabled).toBe(true);
    expect(mine[1].after.enabled).toBe(false);
    expect(mine[0].before.name).toBe("audited");
    expect(mine.every((e: { actor: string }) => /^user:/.test(e.actor))).toBe(true);
    const other = await api.call("GET", "/api/v1/tenants/globex/audit?resource=bridge", { token: globexAdmin });
    expect(other.body.items.some((e: { resourceId: string }) => e.resourceId === created.body.id)).toBe(false);
  });
});
