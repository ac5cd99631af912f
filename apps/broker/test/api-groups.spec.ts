import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService, type ChangeEvent } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

/**
 * Device groups through the admin API: CRUD with unique names per tenant,
 * membership by PUT/DELETE, the devices of a group through the devices list,
 * and the usual rules: tenants never see each other, viewers only read, bad
 * input changes nothing, every change is audited.
 */
describe.each(DB_KINDS)("admin API: device groups (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  const acmeDevices: string[] = [];
  let globexDevice: string;
  let globexGroup: string;

  const base = "/api/v1/tenants/acme/groups";
  const snapshot = async () => {
    const groups = await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin });
    const devices = await api.call("GET", "/api/v1/tenants/acme/devices?pageSize=200", { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    return { groups: groups.body, devices: devices.body, auditTotal: audit.body.total as number };
  };
  const auditOf = async (slug: string, token: string, resourceId: string) => {
    const r = await api.call("GET", `/api/v1/tenants/${slug}/audit?resource=group&pageSize=200`, { token });
    return (r.body.items as { resourceId: string; action: string; actor: string; before: any; after: any }[]).filter((e) => e.resourceId === resourceId);
  };

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    for (const clientId of ["d-1", "d-2", "d-3"]) {
      const r = await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId } });
      acmeDevices.push(r.body.id);
    }
    globexDevice = (await api.call("POST", "/api/v1/tenants/globex/devices", { token: globexAdmin, body: { clientId: "d-1" } })).body.id;
    globexGroup = (await api.call("POST", "/api/v1/tenants/globex/groups", { token: globexAdmin, body: { name: "floor-1" } })).body.id;
  }, 60_000);
  afterAll(async () => api?.close());

  it("operators create, rename and delete groups; viewers list and read them; names are per tenant", async () => {
    const b = await api.call("POST", base, { token: acmeOperator, body: { name: "  zone-b  ", description: "second" } });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ name: "zone-b", description: "second", memberCount: 0 });
    const a = await api.call("POST", base, { token: acmeOperator, body: { name: "floor-1" } });
    expect(a.status).toBe(201); // the same name exists in globex: another tenant's group
    expect(a.body.description).toBeNull();

    const list = await api.call("GET", base, { token: acmeViewer });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ page: 1, pageSize: 50, total: 2 });
    expect(list.body.items.map((g: { name: string }) => g.name)).toEqual(["floor-1", "zone-b"]);
    const page2 = await api.call("GET", `${base}?page=2&pageSize=1`, { token: acmeViewer });
    expect(page2.body.items.map((g: { name: string }) => g.name)).toEqual(["zone-b"]);

    expect((await api.call("GET", `${base}/${b.body.id}`, { token: acmeViewer })).body).toEqual(b.body);
    const renamed = await api.call("PATCH", `${base}/${b.body.id}`, { token: acmeOperator, body: { name: "zone-c", description: null } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: b.body.id, name: "zone-c", description: null });
    // Renaming to its own name is not a conflict.
    expect((await api.call("PATCH", `${base}/${b.body.id}`, { token: acmeOperator, body: { name: "zone-c" } })).status).toBe(200);

    expect((await api.call("DELETE", `${base}/${b.body.id}`, { token: acmeOperator })).status).toBe(204);
    expect((await api.call("GET", `${base}/${b.body.id}`, { token: acmeViewer })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${b.body.id}`, { token: acmeOperator })).status).toBe(404);
  });

  it("members are added by PUT (idempotent) and removed by DELETE; the devices list filters by group", async () => {
    const g = (await api.call("POST", base, { token: acmeOperator, body: { name: "members" } })).body;
    const [d1, d2, d3] = acmeDevices as [string, string, string];
    for (const d of [d1, d2, d1]) {
      const r = await api.call("PUT", `${base}/${g.id}/members/${d}`, { token: acmeOperator });
      expect(r.status).toBe(204);
      expect(r.body).toBeUndefined();
    }
    expect((await api.call("GET", `${base}/${g.id}`, { token: acmeViewer })).body.memberCount).toBe(2);
    const inGroup = await api.call("GET", `/api/v1/tenants/acme/devices?groupId=${g.id}`, { token: acmeViewer });
    expect(inGroup.body.items.map((d: { id: string }) => d.id).sort()).toEqual([d1, d2].sort());
    expect((await api.call("GET", `/api/v1/tenants/acme/devices/${d1}`, { token: acmeViewer })).body.groupIds).toEqual([g.id]);
    expect((await api.call("GET", `/api/v1/tenants/acme/devices/${d3}`, { token: acmeViewer })).body.groupIds).toEqual([]);

    expect((await api.call("DELETE", `${base}/${g.id}/members/${d1}`, { token: acmeOperator })).status).toBe(204);
    const again = await api.call("DELETE", `${base}/${g.id}/members/${d1}`, { token: acmeOperator });
    expect(again.status).toBe(404);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect((await api.call("DELETE", `${base}/${g.id}/members/${d3}`, { token: acmeOperator })).status).toBe(404);
    expect((await api.call("GET", `/api/v1/tenants/acme/devices?groupId=${g.id}`, { token: acmeViewer })).body.total).toBe(1);

    // The idempotent PUT of d1 recorded one add, not two.
    const actions = (await auditOf("acme", acmeAdmin, g.id)).map((e) => e.action);
    expect(actions).toEqual(["group.member.remove", "group.member.add", "group.member.add", "group.create"]);

    // Deleting the group ends its memberships; the devices stay.
    expect((await api.call("DELETE", `${base}/${g.id}`, { token: acmeOperator })).status).toBe(204);
    const d2After = await api.call("GET", `/api/v1/tenants/acme/devices/${d2}`, { token: acmeViewer });
    expect(d2After.status).toBe(200);
    expect(d2After.body.groupIds).toEqual([]);
    expect((await api.call("GET", `/api/v1/tenants/acme/devices?groupId=${g.id}`, { token: acmeViewer })).body.total).toBe(0);
  });

  it("membership changes and group deletion are published on the change feed (device permissions depend on groups)", async () => {
    const events: ChangeEvent[] = [];
    api.broker.app.get(DatabaseService).onChange((e) => events.push(e));
    const tenantId = (await api.call("GET", "/api/v1/tenants/acme", { token: acmeAdmin })).body.id as string;
    const [d1] = acmeDevices as [string];
    const g = (await api.call("POST", base, { token: acmeOperator, body: { name: "fed" } })).body;
    await api.call("PATCH", `${base}/${g.id}`, { token: acmeOperator, body: { name: "fed-2" } });
    expect(events).toEqual([]); // a new or renamed group grants nothing by itself
    await api.call("PUT", `${base}/${g.id}/members/${d1}`, { token: acmeOperator });
    await api.call("PUT", `${base}/${g.id}/members/${d1}`, { token: acmeOperator });
    await api.call("DELETE", `${base}/${g.id}/members/${d1}`, { token: acmeOperator });
    await api.call("DELETE", `${base}/${g.id}`, { token: acmeOperator });
    const event = { kind: "acl", tenantId, id: g.id };
    expect(events).toEqual([event, event, event]);
  });

  it("deleting a group deletes the role bindings that targeted it (they are not foreign keys)", async () => {
    const g = (await api.call("POST", base, { token: acmeOperator, body: { name: "bound" } })).body;
    const prisma = api.broker.app.get(DatabaseService).db;
    const tenant = await prisma.tenant.findUniqueOrThrow({ where: { slug: "acme" } });
    const role = await prisma.role.create({ data: { id: randomUUID(), tenantId: tenant.id, name: `r-${g.id}` } });
    const binding = await prisma.roleBinding.create({ data: { id: randomUUID(), tenantId: tenant.id, roleId: role.id, targetType: "group", targetId: g.id } });
    expect((await api.call("DELETE", `${base}/${g.id}`, { token: acmeOperator })).status).toBe(204);
    expect(await prisma.roleBinding.findUnique({ where: { id: binding.id } })).toBeNull();
    const [del] = await auditOf("acme", acmeAdmin, g.id);
    expect(del?.action).toBe("group.delete");
    expect(del?.before.bindings.map((x: { id: string }) => x.id)).toEqual([binding.id]);
    await prisma.role.delete({ where: { id: role.id } });
  });

  it("another tenant's admin gets 404 for acme's groups, by acme's path and by id under its own", async () => {
    const g = (await api.call("POST", base, { token: acmeOperator, body: { name: "private" } })).body;
    const [d1] = acmeDevices as [string];
    expect((await api.call("PUT", `${base}/${g.id}/members/${d1}`, { token: acmeOperator })).status).toBe(204);
    const before = await snapshot();

    const acmePath = `${base}/${g.id}`;
    const byId = `/api/v1/tenants/globex/groups/${g.id}`;
    const calls: [string, string, unknown?][] = [
      ["GET", base],
      ["POST", base, { name: "intruder" }],
      ["GET", acmePath],
      ["PATCH", acmePath, { name: "hijacked" }],
      ["DELETE", acmePath],
      ["PUT", `${acmePath}/members/${d1}`],
      ["DELETE", `${acmePath}/members/${d1}`],
      ["GET", byId],
      ["PATCH", byId, { name: "hijacked" }],
      ["DELETE", byId],
      ["PUT", `${byId}/members/${globexDevice}`],
      ["DELETE", `${byId}/members/${d1}`],
      // A globex device into globex's group through its own path, but the device is acme's.
      ["PUT", `/api/v1/tenants/globex/groups/${globexGroup}/members/${d1}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api.call(method, path, { token: globexAdmin, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    // Group and device of different tenants, even for someone who sees both tenants' paths.
    expect((await api.call("PUT", `${acmePath}/members/${globexDevice}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("PUT", `/api/v1/tenants/globex/groups/${globexGroup}/members/${d1}`, { token: api.admin })).status).toBe(404);
    expect((await api.call("PUT", `${base}/${globexGroup}/members/${d1}`, { token: api.admin })).status).toBe(404);
    // Filtering acme's devices by globex's group finds nothing.
    expect((await api.call("GET", `/api/v1/tenants/acme/devices?groupId=${globexGroup}`, { token: acmeAdmin })).body.total).toBe(0);

    expect(await snapshot()).toEqual(before);
    expect((await api.call("GET", `/api/v1/tenants/globex/groups/${globexGroup}`, { token: globexAdmin })).body.memberCount).toBe(0);
  });

  it("viewers cannot change groups or memberships (403) and nothing changes", async () => {
    const g = (await api.call("POST", base, { token: acmeAdmin, body: { name: "viewer-test" } })).body;
    const [d1, d2] = acmeDevices as [string, string];
    await api.call("PUT", `${base}/${g.id}/members/${d1}`, { token: acmeAdmin });
    const before = await snapshot();
    const calls: [string, string, unknown?][] = [
      ["POST", base, { name: "by-viewer" }],
      ["PATCH", `${base}/${g.id}`, { name: "by-viewer" }],
      ["DELETE", `${base}/${g.id}`],
      ["PUT", `${base}/${g.id}/members/${d2}`],
      ["DELETE", `${base}/${g.id}/members/${d1}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api.call(method, path, { token: acmeViewer, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad input gets a problem (400, or 409 for a taken name) and changes nothing", async () => {
    const taken = (await api.call("POST", base, { token: acmeAdmin, body: { name: "taken" } })).body;
    const other = (await api.call("POST", base, { token: acmeAdmin, body: { name: "other" } })).body;
    const before = await snapshot();
    const creates: [unknown, number, string][] = [
      [{ name: 42 }, 400, "name"],
      [{}, 400, "name"],
      [{ name: "" }, 400, "name"],
      [{ name: "   " }, 400, "name"],
      [{ name: "x".repeat(201) }, 400, "name"],
      [{ name: "ok", description: "x".repeat(1001) }, 400, "description"],
      [{ name: "ok", description: 7 }, 400, "description"],
      [{ name: "ok", colour: "red" }, 400, ""],
      [{ name: "taken" }, 409, ""],
      [{ name: " taken " }, 409, ""],
    ];
    for (const [body, status, path] of creates) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const updates: [unknown, number][] = [
      [{ name: "taken" }, 409],
      [{ name: null }, 400],
      [{ memberCount: 3 }, 400],
      [{ description: "x".repeat(1001) }, 400],
    ];
    for (const [body, status] of updates) {
      const r = await api.call("PATCH", `${base}/${other.id}`, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    const [d1] = acmeDevices as [string];
    const malformed: [string, string][] = [
      ["GET", `${base}/not-a-uuid`],
      ["PATCH", `${base}/123`],
      ["DELETE", `${base}/${taken.id}x`],
      ["PUT", `${base}/${taken.id}/members/not-a-uuid`],
      ["PUT", `${base}/nope/members/${d1}`],
      ["DELETE", `${base}/${taken.id}/members/zzz`],
      ["GET", `${base}?pageSize=0`],
      ["GET", `${base}?pageSize=201`],
      ["GET", `${base}?sort=name`],
      ["GET", `/api/v1/tenants/acme/devices?groupId=not-a-uuid`],
      ["GET", `/api/v1/tenants/ACME!/groups`],
    ];
    for (const [method, path] of malformed) {
      const r = await api.call(method, path, { token: acmeAdmin, body: method === "PATCH" ? { name: "x" } : undefined });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    // Unknown but well-formed ids are 404.
    expect((await api.call("GET", `${base}/${randomUUID()}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("PUT", `${base}/${taken.id}/members/${randomUUID()}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("PUT", `${base}/${randomUUID()}/members/${d1}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "{not json" })).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it("every change is audited with actor, before and after; another tenant sees none of it", async () => {
    const g = (await api.call("POST", base, { token: acmeOperator, body: { name: "audited", description: "v1" } })).body;
    const [d1] = acmeDevices as [string];
    await api.call("PATCH", `${base}/${g.id}`, { token: acmeOperator, body: { description: "v2" } });
    await api.call("PUT", `${base}/${g.id}/members/${d1}`, { token: acmeOperator });
    await api.call("DELETE", `${base}/${g.id}/members/${d1}`, { token: acmeOperator });
    await api.call("DELETE", `${base}/${g.id}`, { token: acmeOperator });
    const mine = await auditOf("acme", acmeAdmin, g.id);
    expect(mine.map((e) => e.action)).toEqual(["group.delete", "group.member.remove", "group.member.add", "group.update", "group.create"]);
    const [del, remove, add, update, create] = mine;
    expect(create?.after).toMatchObject({ id: g.id, name: "audited", description: "v1", memberCount: 0 });
    expect(update?.before.description).toBe("v1");
    expect(update?.after.description).toBe("v2");
    expect(add?.after).toEqual({ groupId: g.id, deviceId: d1 });
    expect(remove?.before).toEqual({ groupId: g.id, deviceId: d1 });
    expect(del?.before).toMatchObject({ id: g.id, name: "audited", bindings: [] });
    for (const e of mine) expect(e.actor).toMatch(/^user:/);
    expect(await auditOf("globex", globexAdmin, g.id)).toEqual([]);
  });
});
