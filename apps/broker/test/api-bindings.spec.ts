import { randomUUID } from "node:crypto";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService, type ChangeEvent } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

type Binding = { id: string; roleId: string; targetType: "device" | "group"; targetId: string; createdAt: string };

/**
 * Role bindings through the admin API: a role granted to a device or to a
 * device group, both in the same tenant (an id from another tenant is not
 * found, so no binding can cross tenants); duplicates are 409; tenant admins
 * write, viewers read; every change is audited and reaches the broker's
 * permission cache.
 */
describe.each(DB_KINDS)("admin API: role bindings (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  let acmeId: string;
  let role: { id: string };
  let otherRole: { id: string };
  let device: { id: string };
  let otherDevice: { id: string };
  let group: string;
  let globexRole: { id: string };
  let globexDevice: { id: string };
  let globexGroup: string;
  let toDevice: Binding;
  let toGroup: Binding;
  const events: ChangeEvent[] = [];

  const base = "/api/v1/tenants/acme/bindings";
  const prisma = () => api.broker.app.get(DatabaseService).db;
  const snapshot = async () => {
    const list = await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    return { list: list.body, rows: await prisma().roleBinding.count(), auditTotal: audit.body.total as number, events: events.length };
  };
  const post = async (slug: string, token: string, pathname: string, body: unknown) => {
    const r = await api.call("POST", `/api/v1/tenants/${slug}/${pathname}`, { token, body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };
  /** Groups straight in the database, so this suite does not depend on the groups API. */
  const makeGroup = async (tenantSlug: string, name: string) => {
    const tenant = await prisma().tenant.findUniqueOrThrow({ where: { slug: tenantSlug } });
    return (await prisma().deviceGroup.create({ data: { id: randomUUID(), tenantId: tenant.id, name } })).id;
  };
  const ids = (items: Binding[]) => items.map((b) => b.id);

  beforeAll(async () => {
    api = await startApi(db);
    api.broker.app.get(DatabaseService).onChange((e) => events.push(e));
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    acmeId = (await api.call("GET", "/api/v1/tenants/acme", { token: acmeAdmin })).body.id;
    const rules = [{ effect: "allow", action: "both", topicFilter: "devices/${clientid}/#" }];
    role = await post("acme", acmeAdmin, "roles", { name: "sensor", rules });
    otherRole = await post("acme", acmeAdmin, "roles", { name: "reader" });
    device = await post("acme", acmeAdmin, "devices", { clientId: "sensor-1" });
    otherDevice = await post("acme", acmeAdmin, "devices", { clientId: "sensor-2" });
    group = await makeGroup("acme", "floor-1");
    globexRole = await post("globex", globexAdmin, "roles", { name: "sensor", rules });
    globexDevice = await post("globex", globexAdmin, "devices", { clientId: "sensor-1" });
    globexGroup = await makeGroup("globex", "floor-1");
  }, 60_000);
  afterAll(async () => api?.close());

  it("binds a role to a device and to a group", async () => {
    const d = await api.call("POST", base, { token: acmeAdmin, body: { roleId: role.id, targetType: "device", targetId: device.id } });
    expect(d.status).toBe(201);
    expect(schemas.binding.strict().parse(d.body)).toEqual(d.body);
    expect(d.body).toMatchObject({ roleId: role.id, targetType: "device", targetId: device.id });
    expect(events.at(-1)).toEqual({ kind: "acl", tenantId: acmeId, id: d.body.id });
    toDevice = d.body;
    const g = await api.call("POST", base, { token: acmeAdmin, body: { roleId: role.id, targetType: "group", targetId: group } });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({ roleId: role.id, targetType: "group", targetId: group });
    toGroup = g.body;
    // The same device may hold other roles.
    expect((await api.call("POST", base, { token: acmeAdmin, body: { roleId: otherRole.id, targetType: "device", targetId: device.id } })).status).toBe(201);
  });

  it("lists (viewers too), filters by role and target, and gets one", async () => {
    const all = await api.call("GET", base, { token: acmeViewer });
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(3);
    expect(all.body.items.slice(0, 2)).toEqual([toDevice, toGroup]);
    expect(ids((await api.call("GET", `${base}?roleId=${role.id}`, { token: acmeViewer })).body.items)).toEqual([toDevice.id, toGroup.id]);
    expect(ids((await api.call("GET", `${base}?targetType=group`, { token: acmeViewer })).body.items)).toEqual([toGroup.id]);
    const ofDevice = await api.call("GET", `${base}?targetType=device&targetId=${device.id}`, { token: acmeViewer });
    expect(ofDevice.body.items.map((b: Binding) => b.roleId)).toEqual([role.id, otherRole.id]);
    expect((await api.call("GET", `${base}?targetId=${otherDevice.id}`, { token: acmeViewer })).body.total).toBe(0);
    expect((await api.call("GET", `${base}?page=2&pageSize=2`, { token: acmeViewer })).body.items).toHaveLength(1);
    const one = await api.call("GET", `${base}/${toGroup.id}`, { token: acmeViewer });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(toGroup);
  });

  it("the same binding twice is 409, and nothing changes", async () => {
    const before = await snapshot();
    for (const b of [toDevice, toGroup]) {
      const r = await api.call("POST", base, { token: acmeAdmin, body: { roleId: b.roleId, targetType: b.targetType, targetId: b.targetId } });
      expect(r.status).toBe(409);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("role and target must be in the tenant: another tenant's ids are 404, never a cross-tenant binding", async () => {
    const before = await snapshot();
    const cases: [unknown, RegExp][] = [
      [{ roleId: globexRole.id, targetType: "device", targetId: device.id }, /Role/],
      [{ roleId: role.id, targetType: "device", targetId: globexDevice.id }, /Device/],
      [{ roleId: role.id, targetType: "group", targetId: globexGroup }, /group/],
      // A real id of the wrong kind is not found either.
      [{ roleId: role.id, targetType: "group", targetId: device.id }, /group/],
      [{ roleId: role.id, targetType: "device", targetId: group }, /Device/],
      [{ roleId: role.id, targetType: "device", targetId: "00000000-0000-4000-8000-000000000000" }, /Device/],
      [{ roleId: "00000000-0000-4000-8000-000000000000", targetType: "device", targetId: device.id }, /Role/],
    ];
    for (const [body, what] of cases) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(404);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.detail).toMatch(what);
    }
    // From globex's side: acme's role or device through globex's path is just as unknown.
    const g = "/api/v1/tenants/globex/bindings";
    expect((await api.call("POST", g, { token: globexAdmin, body: { roleId: role.id, targetType: "device", targetId: globexDevice.id } })).status).toBe(404);
    expect((await api.call("POST", g, { token: globexAdmin, body: { roleId: globexRole.id, targetType: "device", targetId: device.id } })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    expect(await prisma().roleBinding.count({ where: { tenant: { slug: "globex" } } })).toBe(0);
  });

  it("another tenant's admin gets 404 for this tenant's bindings, by path and by id", async () => {
    const before = await snapshot();
    expect((await api.call("GET", base, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: globexAdmin, body: { roleId: role.id, targetType: "device", targetId: otherDevice.id } })).status).toBe(404);
    expect((await api.call("GET", `${base}/${toDevice.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${toDevice.id}`, { token: globexAdmin })).status).toBe(404);
    const g = "/api/v1/tenants/globex/bindings";
    expect((await api.call("GET", `${g}/${toDevice.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${g}/${toDevice.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("GET", `${g}?roleId=${role.id}`, { token: globexAdmin })).body.total).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it("operators and viewers cannot bind or unbind (403) and nothing changes", async () => {
    const before = await snapshot();
    for (const token of [acmeOperator, acmeViewer]) {
      const r = await api.call("POST", base, { token, body: { roleId: role.id, targetType: "device", targetId: otherDevice.id } });
      expect(r.status).toBe(403);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect((await api.call("DELETE", `${base}/${toDevice.id}`, { token })).status).toBe(403);
      expect((await api.call("GET", `${base}/${toDevice.id}`, { token })).status).toBe(200);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad input gets a 400 problem and changes nothing", async () => {
    const before = await snapshot();
    const ok = { roleId: role.id, targetType: "device", targetId: otherDevice.id };
    const cases: [unknown, string][] = [
      [{}, "roleId"],
      [{ ...ok, roleId: "not-a-uuid" }, "roleId"],
      [{ ...ok, roleId: 7 }, "roleId"],
      [{ ...ok, targetType: "user" }, "targetType"],
      [{ ...ok, targetId: "x".repeat(300) }, "targetId"],
      [{ roleId: role.id, targetType: "device" }, "targetId"],
      [{ ...ok, tenantId: acmeId }, ""],
      [{ ...ok, id: "00000000-0000-4000-8000-000000000000" }, ""],
    ];
    for (const [body, path] of cases) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "roleId=1" })).status).toBe(400);
    for (const q of ["targetType=user", "roleId=nope", "targetId=1", "colour=red", "pageSize=0"]) {
      expect((await api.call("GET", `${base}?${q}`, { token: acmeAdmin })).status, q).toBe(400);
    }
    expect((await api.call("GET", `${base}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("DELETE", `${base}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("GET", `${base}/00000000-0000-4000-8000-000000000000`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/00000000-0000-4000-8000-000000000000`, { token: acmeAdmin })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("unbinds (204); the binding is gone and may be made again", async () => {
    const seen = events.length;
    expect((await api.call("DELETE", `${base}/${toGroup.id}`, { token: acmeAdmin })).status).toBe(204);
    expect(events.slice(seen)).toEqual([{ kind: "acl", tenantId: acmeId, id: toGroup.id }]);
    expect((await api.call("GET", `${base}/${toGroup.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${toGroup.id}`, { token: acmeAdmin })).status).toBe(404);
    expect(ids((await api.call("GET", `${base}?targetType=group`, { token: acmeViewer })).body.items)).toEqual([]);
    const again = await api.call("POST", base, { token: acmeAdmin, body: { roleId: role.id, targetType: "group", targetId: group } });
    expect(again.status).toBe(201);
    toGroup = again.body;
  });

  it("deleting a role removes its bindings, and the role's audit record lists them", async () => {
    const temp = await post("acme", acmeAdmin, "roles", { name: "temporary" });
    const b = await post("acme", acmeAdmin, "bindings", { roleId: temp.id, targetType: "device", targetId: otherDevice.id });
    expect((await api.call("DELETE", `/api/v1/tenants/acme/roles/${temp.id}`, { token: acmeAdmin })).status).toBe(204);
    expect((await api.call("GET", `${base}/${b.id}`, { token: acmeAdmin })).status).toBe(404);
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=role&pageSize=200", { token: acmeAdmin });
    const del = audit.body.items.find((e: { action: string; resourceId: string }) => e.action === "role.delete" && e.resourceId === temp.id);
    expect(del.before.bindings.map((x: Binding) => x.id)).toEqual([b.id]);
  });

  it("audits creation and deletion with the actor; the other tenant sees none of it", async () => {
    const created = await post("acme", acmeAdmin, "bindings", { roleId: otherRole.id, targetType: "group", targetId: group });
    await api.call("DELETE", `${base}/${created.id}`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=binding&pageSize=200", { token: acmeAdmin });
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === created.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["binding.delete", "binding.create"]);
    expect(mine[1].after).toMatchObject({ roleId: otherRole.id, targetType: "group", targetId: group, tenantId: acmeId });
    expect(mine[0].before).toMatchObject({ id: created.id, roleId: otherRole.id });
    expect(mine[0].actor).toMatch(/^user:/);
    // Every binding made in this suite was audited.
    expect(audit.body.items.filter((e: { action: string }) => e.action === "binding.create").length).toBe(6);
    const other = await api.call("GET", "/api/v1/tenants/globex/audit?resource=binding", { token: globexAdmin });
    expect(other.body.total).toBe(0);
  });

  it("deleting a device removes the bindings that target it (no foreign key), and the device's audit record lists them", async () => {
    const doomed = await post("acme", acmeAdmin, "devices", { clientId: "doomed" });
    const b1 = await post("acme", acmeAdmin, "bindings", { roleId: role.id, targetType: "device", targetId: doomed.id });
    const b2 = await post("acme", acmeAdmin, "bindings", { roleId: otherRole.id, targetType: "device", targetId: doomed.id });
    const others = ids((await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin })).body.items).filter((id) => id !== b1.id && id !== b2.id);
    expect(others).toContain(toDevice.id);
    // An operator may delete the device, and its bindings go with it.
    expect((await api.call("DELETE", `/api/v1/tenants/acme/devices/${doomed.id}`, { token: acmeOperator })).status).toBe(204);
    for (const b of [b1, b2]) expect((await api.call("GET", `${base}/${b.id}`, { token: acmeAdmin })).status).toBe(404);
    expect(await prisma().roleBinding.count({ where: { targetId: doomed.id } })).toBe(0);
    expect((await api.call("GET", `${base}?targetId=${doomed.id}`, { token: acmeViewer })).body.total).toBe(0);
    // Bindings of other devices and of groups stay.
    expect(ids((await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin })).body.items)).toEqual(others);
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=device&pageSize=200", { token: acmeAdmin });
    const del = audit.body.items.find((e: { action: string; resourceId: string }) => e.action === "device.delete" && e.resourceId === doomed.id);
    expect(del.before).toMatchObject({ id: doomed.id, clientId: "doomed" });
    expect(del.before.bindings.map((x: Binding) => x.id).sort()).toEqual([b1.id, b2.id].sort());
  });
});
