import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService, type ChangeEvent } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

type Rule = { id: string; effect: string; action: string; topicFilter: string; priority: number };

/**
 * Roles and their topic rules through the admin API: rules are given inline,
 * replaced as a whole, returned in evaluation order (priority, then the order
 * written), at most 10,000 per role; names are unique per tenant; tenant
 * admins write, viewers read; tenants never see each other's roles; invalid
 * topic filters are refused with the rule's path; every change is audited.
 */
describe.each(DB_KINDS)("admin API: roles and topic rules (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  let role: { id: string; name: string; rules: Rule[] };
  let acmeId: string;
  const events: ChangeEvent[] = [];

  const base = "/api/v1/tenants/acme/roles";
  const snapshot = async () => {
    const list = await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    return { list: list.body, auditTotal: audit.body.total as number, events: events.length };
  };
  const filters = (rules: Rule[]) => rules.map((r) => r.topicFilter);

  beforeAll(async () => {
    // Set, not left to the default (1 MB): 10,000 rules are ~740 kB of JSON, and the 413 case sends 2.2 MB.
    api = await startApi(db, { HALYARD_API_BODY_LIMIT: "2mb" });
    api.broker.app.get(DatabaseService).onChange((e) => events.push(e));
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    acmeId = (await api.call("GET", "/api/v1/tenants/acme", { token: acmeAdmin })).body.id;
  }, 60_000);
  afterAll(async () => api?.close());

  it("creates a role with rules, returned by priority and then in the order written", async () => {
    const rules = [
      { effect: "allow", action: "publish", topicFilter: "devices/${clientid}/telemetry", priority: 100 },
      { effect: "deny", action: "both", topicFilter: "devices/+/secret/#", priority: 10 },
      { effect: "allow", action: "subscribe", topicFilter: "devices/${clientid}/commands/#" },
      { effect: "allow", action: "both", topicFilter: "users/${username}/+", priority: 10 },
      { effect: "allow", action: "subscribe", topicFilter: "broadcast/#", priority: 100 },
      { effect: "deny", action: "publish", topicFilter: "#", priority: 1_000_000 },
      { effect: "allow", action: "publish", topicFilter: "a/${clientid}/${username}", priority: 0 },
    ];
    const r = await api.call("POST", base, { token: acmeAdmin, body: { name: "sensor", description: "What sensors may do", rules } });
    expect(r.status).toBe(201);
    expect(schemas.role.strict().parse(r.body)).toEqual(r.body);
    expect(filters(r.body.rules)).toEqual([
      "a/${clientid}/${username}",
      "devices/+/secret/#",
      "users/${username}/+",
      "devices/${clientid}/telemetry",
      "devices/${clientid}/commands/#",
      "broadcast/#",
      "#",
    ]);
    expect(r.body.rules[4]).toMatchObject({ effect: "allow", action: "subscribe", priority: 100 }); // the default priority
    expect(new Set(r.body.rules.map((x: Rule) => x.id)).size).toBe(7);
    role = r.body;

    const empty = await api.call("POST", base, { token: acmeAdmin, body: { name: "empty" } });
    expect(empty.status).toBe(201);
    expect(empty.body.rules).toEqual([]);
    expect(empty.body.description).toBeNull();
  });

  it("lists and gets roles (viewers too), with their rules in order", async () => {
    const list = await api.call("GET", base, { token: acmeViewer });
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.items.map((x: { name: string }) => x.name)).toEqual(["empty", "sensor"]);
    expect(list.body.items[1]).toEqual(role);
    expect((await api.call("GET", `${base}?page=2&pageSize=1`, { token: acmeViewer })).body.items[0].name).toBe("sensor");
    const one = await api.call("GET", `${base}/${role.id}`, { token: acmeViewer });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(role);
  });

  it("updating replaces the rules as a whole; omitting them keeps them", async () => {
    const renamed = await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body: { name: "sensors", description: null } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe("sensors");
    expect(renamed.body.description).toBeNull();
    expect(renamed.body.rules).toEqual(role.rules);

    const rules = [
      { effect: "allow", action: "publish", topicFilter: "x/2", priority: 5 },
      { effect: "allow", action: "publish", topicFilter: "x/1", priority: 5 },
      { effect: "deny", action: "publish", topicFilter: "x/0", priority: 1 },
    ];
    const r = await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body: { rules } });
    expect(r.status).toBe(200);
    expect(filters(r.body.rules)).toEqual(["x/0", "x/2", "x/1"]);
    expect(r.body.rules.some((x: Rule) => role.rules.some((old) => old.id === x.id))).toBe(false);
    expect(new Date(r.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(renamed.body.updatedAt).getTime());
    expect((await api.call("GET", `${base}/${role.id}`, { token: acmeViewer })).body).toEqual(r.body);
    // Devices bound to the role get their permissions recompiled.
    expect(events.at(-1)).toEqual({ kind: "acl", tenantId: acmeId, id: role.id });

    const cleared = await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body: { rules: [] } });
    expect(cleared.body.rules).toEqual([]);
    role = (await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body: { rules } })).body;
  });

  it("names are unique per tenant (409), and the same name is fine in another tenant", async () => {
    const before = await snapshot();
    expect((await api.call("POST", base, { token: acmeAdmin, body: { name: "sensors" } })).status).toBe(409);
    expect((await api.call("POST", base, { token: acmeAdmin, body: { name: "  sensors  " } })).status).toBe(409); // names are trimmed
    const dup = await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body: { name: "empty" } });
    expect(dup.status).toBe(409);
    expect(dup.headers.get("content-type")).toContain("application/problem+json");
    expect(await snapshot()).toEqual(before);
    // Renaming to its own name is not a conflict.
    expect((await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body: { name: "sensors" } })).status).toBe(200);
    expect((await api.call("POST", "/api/v1/tenants/globex/roles", { token: globexAdmin, body: { name: "sensors" } })).status).toBe(201);
  });

  it("another tenant's admin gets 404 for this tenant's roles, by path and by id", async () => {
    const before = await snapshot();
    expect((await api.call("GET", base, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: globexAdmin, body: { name: "x" } })).status).toBe(404);
    expect((await api.call("GET", `${base}/${role.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("PATCH", `${base}/${role.id}`, { token: globexAdmin, body: { name: "x" } })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${role.id}`, { token: globexAdmin })).status).toBe(404);
    const g = "/api/v1/tenants/globex/roles";
    expect((await api.call("GET", `${g}/${role.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("PATCH", `${g}/${role.id}`, { token: globexAdmin, body: { rules: [] } })).status).toBe(404);
    expect((await api.call("DELETE", `${g}/${role.id}`, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("GET", g, { token: globexAdmin })).body.items.map((x: { name: string }) => x.name)).toEqual(["sensors"]);
    expect(await snapshot()).toEqual(before);
  });

  it("operators and viewers cannot write roles (403) and nothing changes", async () => {
    const before = await snapshot();
    for (const token of [acmeOperator, acmeViewer]) {
      expect((await api.call("POST", base, { token, body: { name: "mine" } })).status).toBe(403);
      expect((await api.call("PATCH", `${base}/${role.id}`, { token, body: { rules: [] } })).status).toBe(403);
      expect((await api.call("DELETE", `${base}/${role.id}`, { token })).status).toBe(403);
      expect((await api.call("GET", `${base}/${role.id}`, { token })).status).toBe(200);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("invalid topic filters are a 400 with the rule's path, on create and on update", async () => {
    const before = await snapshot();
    const bad = ["a/#/b", "a#", "a+/b", "${foo}/x", "${clientid", "$share/g/a/b", "", "a\u0000b", "x".repeat(1025)];
    for (const topicFilter of bad) {
      const rules = [
        { effect: "allow", action: "publish", topicFilter: "ok/1" },
        { effect: "allow", action: "publish", topicFilter: "ok/2" },
        { effect: "allow", action: "publish", topicFilter },
      ];
      for (const [method, url, body] of [
        ["POST", base, { name: "bad-filter", rules }],
        ["PATCH", `${base}/${role.id}`, { rules }],
      ] as const) {
        const r = await api.call(method, url, { token: acmeAdmin, body });
        expect(r.status, `${method} ${topicFilter.slice(0, 20)}`).toBe(400);
        expect(r.headers.get("content-type")).toContain("application/problem+json");
        expect([...new Set(r.body.errors.map((e: { path: string }) => e.path))]).toEqual(["rules.2.topicFilter"]);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it("other bad input gets a 4xx problem and changes nothing", async () => {
    const before = await snapshot();
    const rule = { effect: "allow", action: "publish", topicFilter: "a" };
    const cases: [unknown, string][] = [
      [{ name: 42 }, "name"],
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "x".repeat(201) }, "name"],
      [{ name: "ok", description: "x".repeat(1001) }, "description"],
      [{ name: "ok", colour: "red" }, ""],
      [{ name: "ok", rules: "allow all" }, "rules"],
      [{ name: "ok", rules: [{ ...rule, effect: "maybe" }] }, "rules.0.effect"],
      [{ name: "ok", rules: [{ ...rule, action: "read" }] }, "rules.0.action"],
      [{ name: "ok", rules: [{ ...rule, priority: -1 }] }, "rules.0.priority"],
      [{ name: "ok", rules: [{ ...rule, priority: 1.5 }] }, "rules.0.priority"],
      [{ name: "ok", rules: [{ ...rule, priority: 1_000_001 }] }, "rules.0.priority"],
      [{ name: "ok", rules: [{ ...rule, id: "00000000-0000-4000-8000-000000000000" }] }, "rules.0"],
      [{ name: "ok", rules: [{ effect: "allow", action: "publish" }] }, "rules.0.topicFilter"],
    ];
    for (const [body, path] of cases) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    for (const body of [{ name: 7 }, { rules: null }, { tenantId: "x" }, { rules: [{ ...rule, effect: "maybe" }] }]) {
      expect((await api.call("PATCH", `${base}/${role.id}`, { token: acmeAdmin, body })).status, JSON.stringify(body)).toBe(400);
    }
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "[1," })).status).toBe(400);
    expect((await api.call("POST", base, { token: acmeAdmin, raw: JSON.stringify({ name: "big", description: "x".repeat(2_200_000) }) })).status).toBe(413);
    expect((await api.call("GET", `${base}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    expect((await api.call("PATCH", `${base}/not-a-uuid`, { token: acmeAdmin, body: {} })).status).toBe(400);
    expect((await api.call("DELETE", `${base}/not-a-uuid`, { token: acmeAdmin })).status).toBe(400);
    const missing = `${base}/00000000-0000-4000-8000-000000000000`;
    expect((await api.call("GET", missing, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("PATCH", missing, { token: acmeAdmin, body: { name: "x" } })).status).toBe(404);
    expect((await api.call("DELETE", missing, { token: acmeAdmin })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it("takes 10,000 rules per role and refuses 10,001", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ effect: "allow", action: "publish", topicFilter: `t/${i}`, priority: i % 3 }));
    const r = await api.call("POST", base, { token: acmeAdmin, body: { name: "big", rules: many } });
    expect(r.status).toBe(201);
    expect(r.body.rules).toHaveLength(10_000);
    // Priority 0 first, in the order given: t/0, t/3, t/6, ...
    expect(filters(r.body.rules.slice(0, 3))).toEqual(["t/0", "t/3", "t/6"]);
    expect(r.body.rules[3333].topicFilter).toBe("t/9999");
    expect(r.body.rules[3334].topicFilter).toBe("t/1");
    expect((await api.call("GET", `${base}/${r.body.id}`, { token: acmeViewer })).body.rules).toEqual(r.body.rules);

    const before = await snapshot();
    const tooMany = [...many, { effect: "deny", action: "both", topicFilter: "#" }];
    const c = await api.call("POST", base, { token: acmeAdmin, body: { name: "bigger", rules: tooMany } });
    expect(c.status).toBe(400);
    expect(c.body.errors.map((e: { path: string }) => e.path)).toEqual(["rules"]);
    const u = await api.call("PATCH", `${base}/${r.body.id}`, { token: acmeAdmin, body: { rules: tooMany } });
    expect(u.status).toBe(400);
    expect(await snapshot()).toEqual(before);

    expect((await api.call("DELETE", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(204);
  }, 30_000);

  it("POST roles/validate checks a role body without saving it: every issue with its path", async () => {
    const validate = (body: unknown, query = "", token = acmeViewer) => api.call("POST", `${base}/validate${query}`, { token, body });
    const before = await snapshot();
    const good = await validate({ name: "draft", rules: [{ effect: "allow", action: "publish", topicFilter: "devices/${clientid}/#" }] });
    expect(good.status).toBe(200);
    expect(schemas.roleValidation.strict().parse(good.body)).toEqual({ valid: true, issues: [] });

    const bad = await validate({
      name: "draft",
      rules: [
        { effect: "maybe", action: "publish", topicFilter: "a" },
        { effect: "allow", action: "publish", topicFilter: "a" },
        { effect: "allow", action: "both", topicFilter: "a/#/b" },
        { effect: "allow", action: "both", topicFilter: "devices/${tenant}/x", priority: -1 },
      ],
    });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).toEqual(["rules.0.effect", "rules.2.topicFilter", "rules.3.topicFilter", "rules.3.priority"]);
    expect(bad.body.issues[1].message).toMatch(/valid MQTT topic filter/);
    expect(bad.body.issues[2].message).toMatch(/unknown variable \$\{tenant\}/);

    // A taken name is an issue, listed with the others; not for the role being edited itself.
    const taken = await validate({ name: role.name, rules: [{ effect: "allow", action: "publish", topicFilter: "a/#/b" }] });
    expect(taken.body).toEqual({
      valid: false,
      issues: [
        { path: "rules.0.topicFilter", message: expect.stringMatching(/valid MQTT topic filter/) },
        { path: "name", message: `a role named '${role.name}' exists in tenant 'acme'` },
      ],
    });
    expect((await validate({ name: role.name }, `?roleId=${role.id}`)).body).toEqual({ valid: true, issues: [] });
    // A name taken in acme only ("empty") is free in globex.
    expect((await validate({ name: "empty" })).body.valid).toBe(false);
    expect((await api.call("POST", "/api/v1/tenants/globex/roles/validate", { token: globexAdmin, body: { name: "empty" } })).body).toEqual({ valid: true, issues: [] });

    expect((await validate({ rules: [] })).body.issues.map((i: { path: string }) => i.path)).toEqual(["name"]);
    expect((await validate({ name: "x", colour: "red" })).body.issues.map((i: { path: string }) => i.path)).toEqual(["(body)"]);
    expect((await validate([1, 2])).body).toMatchObject({ valid: false, issues: [{ path: "(body)" }] });
    const many = Array.from({ length: 10_001 }, () => ({ effect: "allow", action: "publish", topicFilter: "a" }));
    expect((await validate({ name: "big", rules: many }, "", acmeAdmin)).body.issues.map((i: { path: string }) => i.path)).toEqual(["rules"]);

    // The query, authorization and tenant are checked like any route.
    expect((await validate({ name: "x" }, "?roleId=nope")).status).toBe(400);
    expect((await validate({ name: "x" }, "?other=1")).status).toBe(400);
    expect((await validate({ name: "x" }, "", globexAdmin)).status).toBe(404);
    expect((await api.call("POST", `${base}/validate`, { body: { name: "x" } })).status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });

  it("deletes a role (204), then it is gone", async () => {
    const r = await api.call("POST", base, { token: acmeAdmin, body: { name: "short-lived", rules: [{ effect: "allow", action: "both", topicFilter: "tmp/#" }] } });
    expect((await api.call("DELETE", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(204);
    expect((await api.call("GET", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(404);
    // The name is free again.
    expect((await api.call("POST", base, { token: acmeAdmin, body: { name: "short-lived" } })).status).toBe(201);
  });

  it("audits every change with the actor, before and after", async () => {
    const created = await api.call("POST", base, { token: acmeAdmin, body: { name: "audited", rules: [{ effect: "allow", action: "publish", topicFilter: "a/b" }] } });
    await api.call("PATCH", `${base}/${created.body.id}`, { token: acmeAdmin, body: { rules: [{ effect: "deny", action: "publish", topicFilter: "a/c" }] } });
    const seen = events.length;
    await api.call("DELETE", `${base}/${created.body.id}`, { token: acmeAdmin });
    expect(events.slice(seen)).toEqual([{ kind: "acl", tenantId: acmeId, id: created.body.id }]);
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=role&pageSize=200", { token: acmeAdmin });
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === created.body.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["role.delete", "role.update", "role.create"]);
    expect(mine[2].after.rules.map((x: Rule) => x.topicFilter)).toEqual(["a/b"]);
    expect(mine[1].before.rules.map((x: Rule) => x.topicFilter)).toEqual(["a/b"]);
    expect(mine[1].after.rules.map((x: Rule) => x.topicFilter)).toEqual(["a/c"]);
    expect(mine[0].before.name).toBe("audited");
    expect(mine[0].after).toBeNull();
    expect(mine.every((e: { actor: string }) => /^user:/.test(e.actor))).toBe(true);
    const other = await api.call("GET", "/api/v1/tenants/globex/audit?resource=role", { token: globexAdmin });
    expect(other.body.items.some((e: { resourceId: string }) => e.resourceId === created.body.id)).toBe(false);
  });
});
