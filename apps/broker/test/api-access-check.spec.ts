import { randomUUID } from "node:crypto";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";
import { closeAll, connectRaw, flush, inbox, publish, subscribe, type Client } from "./mqtt-tenant-kit.ts";

/**
 * POST /tenants/:tenant/access-check answers what the broker would decide
 * for a device, and names the deciding rule. Every answer here is compared
 * with what the running broker actually does to a real MQTT.js client of
 * that device: PUBACK codes for publish, SUBACK codes for subscribe, and
 * which messages arrive for deliveries, over rules with `${clientid}` and
 * `${username}`, wildcards, deny rules, equal priorities and group bindings.
 */
describe.each(DB_KINDS)("admin API: access check (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeViewer: string;
  let globexAdmin: string;
  const ids: Record<string, string> = {};
  const logins: Record<string, { username: string; password: string }> = {};
  let ownRole: string;
  let fleetRole: string;
  let fleetGroup: string;
  let globexDevice: string;
  const clients: Client[] = [];

  const check = (body: object, token = acmeViewer, slug = "acme") => api.call("POST", `/api/v1/tenants/${slug}/access-check`, { token, body });
  const ok = async <T = any>(method: string, path: string, body?: unknown, token = acmeAdmin): Promise<T> => {
    const r = await api.call<T>(method, `/api/v1/tenants/acme${path}`, { token, body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const connect = async (clientId: string) => {
    const c = await connectRaw(api.broker.ports.tcp!, { clientId, username: `${logins[clientId]!.username}@acme`, password: logins[clientId]!.password });
    clients.push(c);
    return c;
  };
  const granted = (code: number) => code < 0x80;

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    ownRole = (
      await ok("POST", "/roles", {
        name: "own",
        rules: [
          { effect: "allow", action: "both", topicFilter: "devices/${clientid}/#", priority: 10 },
          { effect: "deny", action: "publish", topicFilter: "devices/${clientid}/secret/#", priority: 5 },
          { effect: "allow", action: "publish", topicFilter: "users/${username}/out", priority: 20 },
          { effect: "allow", action: "subscribe", topicFilter: "#", priority: 50 },
          { effect: "deny", action: "subscribe", topicFilter: "private/#", priority: 1 },
        ],
      })
    ).id;
    fleetRole = (
      await ok("POST", "/roles", {
        name: "fleet",
        rules: [
          { effect: "allow", action: "publish", topicFilter: "fleet/+/status", priority: 30 },
          // Equal priority: deny is evaluated before allow.
          { effect: "deny", action: "publish", topicFilter: "fleet/locked/status", priority: 30 },
        ],
      })
    ).id;
    const everything = (await ok("POST", "/roles", { name: "everything", rules: [{ effect: "allow", action: "both", topicFilter: "#" }] })).id;
    fleetGroup = (await ok("POST", "/groups", { name: "fleet" })).id;
    for (const [clientId, username] of [
      ["d1", "u-d1"],
      ["d2", "d2"],
      ["d3", "d3"],
    ] as const) {
      ids[clientId] = (await ok("POST", "/devices", { clientId })).id;
      const cred = await ok("POST", `/devices/${ids[clientId]}/credentials`, { username });
      logins[clientId] = { username, password: cred.password };
    }
    await ok("POST", "/bindings", { roleId: ownRole, targetType: "device", targetId: ids.d1 });
    await ok("PUT", `/groups/${fleetGroup}/members/${ids.d1}`);
    await ok("POST", "/bindings", { roleId: fleetRole, targetType: "group", targetId: fleetGroup });
    await ok("POST", "/bindings", { roleId: everything, targetType: "device", targetId: ids.d2 });
    globexDevice = (await api.call("POST", "/api/v1/tenants/globex/devices", { token: globexAdmin, body: { clientId: "g1" } })).body.id;
  }, 60_000);
  afterAll(async () => {
    await closeAll(...clients);
    await api?.close();
  });

  it("publish: the checker's answer is what the broker does, topic by topic", async () => {
    const d1 = await connect("d1");
    const cases: [string, boolean][] = [
      ["devices/d1/temp", true],
      ["devices/d1/secret/key", false],
      ["devices/d2/temp", false],
      ["users/u-d1/out", true],
      ["users/d1/out", false],
      ["fleet/7/status", true],
      ["fleet/locked/status", false],
      ["fleet/7/other", false],
      ["private/x", false],
      ["random", false],
      ["$SYS/anything", false],
    ];
    for (const [topic, expected] of cases) {
      const r = await check({ deviceId: ids.d1, action: "publish", topic, qos: 1 });
      expect(r.status, topic).toBe(200);
      expect(schemas.accessCheckResult.strict().parse(r.body)).toBeTruthy();
      const code = await publish(d1, topic, "x", { qos: 1 });
      expect({ topic, broker: granted(code) }).toEqual({ topic, broker: r.body.allowed });
      expect({ topic, allowed: r.body.allowed }).toEqual({ topic, allowed: expected });
    }
  });

  it("subscribe: SUBACK agrees for plain, wildcard, shared and $ filters", async () => {
    const d1 = await connect("d1");
    const cases: [string, boolean][] = [
      ["devices/d1/#", true],
      ["devices/+/temp", true], // `#` (priority 50) covers it
      ["#", true],
      ["private/#", false],
      ["private/x", false],
      ["users/u-d1/+", true],
      ["$share/g/devices/d1/+", true],
      ["$share/g/private/+", false],
      ["$SYS/#", false],
    ];
    for (const [filter, expected] of cases) {
      const r = await check({ deviceId: ids.d1, action: "subscribe", topic: filter });
      expect(r.status, filter).toBe(200);
      const [code] = await subscribe(d1, filter);
      expect({ filter, broker: granted(code!) }).toEqual({ filter, broker: r.body.allowed });
      expect({ filter, allowed: r.body.allowed }).toEqual({ filter, allowed: expected });
    }
  });

  it("deliver: a message arrives exactly when the checker says so (a deny partly overlapping a subscription)", async () => {
    const d1 = await connect("d1");
    const d2 = await connect("d2");
    expect(await subscribe(d1, "#")).toEqual([1]);
    const topics = ["private/x", "public/y", "devices/d1/secret/key", "fleet/7/status", "private"];
    const expected: Record<string, boolean> = {};
    for (const topic of topics) {
      const r = await check({ deviceId: ids.d1, action: "deliver", topic });
      expect(r.status).toBe(200);
      expected[topic] = r.body.allowed;
      expect(await publish(d2, topic, "m", { qos: 1 })).toBeLessThan(0x80);
    }
    await flush(d2, d1, inbox(d1), "public/marker", "done");
    const arrived = new Set(inbox(d1).map((m) => m.topic));
    for (const topic of topics) expect({ topic, arrived: arrived.has(topic) }).toEqual({ topic, arrived: expected[topic] });
    // The checker did not just say yes or no to everything.
    expect(Object.values(expected)).toContain(true);
    expect(Object.values(expected)).toContain(false);
  });

  it("names the deciding rule, its role, its place in the role and the binding that brought it", async () => {
    const own = await ok("GET", `/roles/${ownRole}`);
    const secret = await check({ deviceId: ids.d1, action: "publish", topic: "devices/d1/secret/key" });
    const ownSecretRule = own.rules.findIndex((r: { topicFilter: string }) => r.topicFilter === "devices/${clientid}/secret/#");
    expect(secret.body).toEqual({
      allowed: false,
      decidedBy: {
        roleId: ownRole,
        roleName: "own",
        ruleId: own.rules[ownSecretRule].id,
        ruleIndex: ownSecretRule,
        effect: "deny",
        action: "publish",
        priority: 5,
        topicFilter: "devices/${clientid}/secret/#",
        expandedFilter: "devices/d1/secret/#",
        via: { kind: "device", id: ids.d1, name: "d1" },
      },
      reason: "denied by rule 2 of role 'own' (deny publish 'devices/${clientid}/secret/#' (here 'devices/d1/secret/#'), priority 5), bound to device 'd1'",
      evaluatedAs: { clientId: "d1", username: "u-d1" },
    });
    expect(ownSecretRule).toBe(1);

    const locked = await check({ deviceId: ids.d1, action: "publish", topic: "fleet/locked/status" });
    // The role lists its equal-priority rules as written (allow, then deny); evaluation takes the deny first.
    expect(locked.body.decidedBy).toMatchObject({ roleId: fleetRole, roleName: "fleet", effect: "deny", ruleIndex: 1, via: { kind: "group", id: fleetGroup, name: "fleet" } });
    expect(locked.body.reason).toBe("denied by rule 2 of role 'fleet' (deny publish 'fleet/locked/status', priority 30), bound to group 'fleet'");

    const user = await check({ deviceId: ids.d1, action: "publish", topic: "users/u-d1/out" });
    expect(user.body.decidedBy).toMatchObject({ effect: "allow", expandedFilter: "users/u-d1/out", ruleIndex: 3 });
    expect(user.body.reason).toMatch(/^allowed by rule 4 of role 'own'/);

    const none = await check({ deviceId: ids.d1, action: "publish", topic: "random" });
    expect(none.body).toEqual({ allowed: false, decidedBy: null, reason: "no matching rule: denied by default", evaluatedAs: { clientId: "d1", username: "u-d1" } });
    // A device with no bindings at all.
    expect((await check({ deviceId: ids.d3, action: "subscribe", topic: "#" })).body).toMatchObject({ allowed: false, decidedBy: null });
  });

  it("${username} is the only credential's username, else the client id; a username may be given", async () => {
    // As a certificate or token login would be evaluated: ${username} is the client id.
    const asClient = await check({ deviceId: ids.d1, action: "publish", topic: "users/d1/out", username: "d1" });
    expect(asClient.body).toMatchObject({ allowed: true, evaluatedAs: { clientId: "d1", username: "d1" } });
    expect((await check({ deviceId: ids.d1, action: "publish", topic: "users/u-d1/out", username: "d1" })).body.allowed).toBe(false);
    expect((await check({ deviceId: ids.d1, action: "publish", topic: "users/u-d1/out", username: "u-d1" })).body.allowed).toBe(true);

    // Not one the device could log in with.
    const stranger = await check({ deviceId: ids.d1, action: "publish", topic: "users/x/out", username: "d2" });
    expect(stranger.status).toBe(400);
    expect(stranger.body.errors.map((e: { path: string }) => e.path)).toEqual(["username"]);

    // Two credentials: no single username, so the client id.
    await ok("POST", `/devices/${ids.d1}/credentials`, { username: "u-d1-second" });
    expect((await check({ deviceId: ids.d1, action: "publish", topic: "users/u-d1/out" })).body.evaluatedAs).toEqual({ clientId: "d1", username: "d1" });
    const second = await check({ deviceId: ids.d1, action: "publish", topic: "users/u-d1-second/out", username: "u-d1-second" });
    expect(second.body.allowed).toBe(true);
  });

  it("follows rule changes the way the broker does", async () => {
    const before = await check({ deviceId: ids.d1, action: "publish", topic: "fleet/locked/status" });
    expect(before.body.allowed).toBe(false);
    await ok("PATCH", `/roles/${fleetRole}`, { rules: [{ effect: "allow", action: "publish", topicFilter: "fleet/+/status", priority: 30 }] });
    const after = await check({ deviceId: ids.d1, action: "publish", topic: "fleet/locked/status" });
    expect(after.body).toMatchObject({ allowed: true, decidedBy: { roleName: "fleet", effect: "allow", topicFilter: "fleet/+/status", via: { kind: "group", name: "fleet" } } });
    const d1 = await connect("d1");
    expect(granted(await publish(d1, "fleet/locked/status", "x", { qos: 1 }))).toBe(true);
    // Leaving the group takes the group's roles away, for both.
    await ok("DELETE", `/groups/${fleetGroup}/members/${ids.d1}`);
    expect((await check({ deviceId: ids.d1, action: "publish", topic: "fleet/7/status" })).body).toMatchObject({ allowed: false, decidedBy: null });
    const again = await connect("d1");
    expect(granted(await publish(again, "fleet/7/status", "x", { qos: 1 }))).toBe(false);
  });

  it("a disabled device or a suspended tenant is denied whatever the rules say, with the reason", async () => {
    const d = await ok("POST", "/devices", { clientId: "d4" });
    await ok("POST", "/bindings", { roleId: ownRole, targetType: "device", targetId: d.id });
    expect((await check({ deviceId: d.id, action: "publish", topic: "devices/d4/x" })).body.allowed).toBe(true);
    await ok("PATCH", `/devices/${d.id}`, { enabled: false });
    const disabled = await check({ deviceId: d.id, action: "publish", topic: "devices/d4/x" });
    expect(disabled.body).toMatchObject({ allowed: false, decidedBy: { effect: "allow", roleName: "own" } });
    expect(disabled.body.reason).toMatch(/^device 'd4' is disabled, so the broker refuses its connection \(the rules alone: allowed by rule 3 of role 'own'/);

    const role = await api.call("POST", "/api/v1/tenants/globex/roles", { token: globexAdmin, body: { name: "all", rules: [{ effect: "allow", action: "both", topicFilter: "#" }] } });
    await api.call("POST", "/api/v1/tenants/globex/bindings", { token: globexAdmin, body: { roleId: role.body.id, targetType: "device", targetId: globexDevice } });
    expect((await check({ deviceId: globexDevice, action: "publish", topic: "a" }, globexAdmin, "globex")).body.allowed).toBe(true);
    expect((await api.call("PATCH", "/api/v1/tenants/globex", { token: api.admin, body: { status: "suspended" } })).status).toBe(200);
    const suspended = await check({ deviceId: globexDevice, action: "publish", topic: "a" }, globexAdmin, "globex");
    expect(suspended.body.allowed).toBe(false);
    expect(suspended.body.reason).toMatch(/^tenant 'globex' is suspended/);
    await api.call("PATCH", "/api/v1/tenants/globex", { token: api.admin, body: { status: "active" } });
  });

  it("bad topics and bodies are 400 problems naming the field", async () => {
    const d = ids.d1;
    const bad: [object, string, RegExp?][] = [
      [{ deviceId: d, action: "publish", topic: "a/+/b" }, "topic", /wildcards .* only for subscribe/],
      [{ deviceId: d, action: "publish", topic: "a/#" }, "topic", /wildcards/],
      [{ deviceId: d, action: "deliver", topic: "#" }, "topic", /wildcards/],
      [{ deviceId: d, action: "publish", topic: "a\u0000b" }, "topic", /not a valid MQTT topic name/],
      [{ deviceId: d, action: "subscribe", topic: "a/#/b" }, "topic", /not a valid MQTT topic filter/],
      [{ deviceId: d, action: "subscribe", topic: "a+/b" }, "topic", /not a valid MQTT topic filter/],
      [{ deviceId: d, action: "subscribe", topic: "$share/g+/x" }, "topic", /shared subscription/],
      [{ deviceId: d, action: "subscribe", topic: "$share/g" }, "topic", /shared subscription/],
      [{ deviceId: d, action: "publish", topic: "" }, "topic"],
      [{ deviceId: d, action: "read", topic: "a" }, "action"],
      [{ deviceId: "d1", action: "publish", topic: "a" }, "deviceId"],
      [{ deviceId: d, action: "publish", topic: "a", qos: 3 }, "qos"],
      [{ deviceId: d, action: "publish", topic: "a", retain: "yes" }, "retain"],
      [{ deviceId: d, action: "publish", topic: "a", username: "x@acme" }, "username"],
      [{ deviceId: d, action: "publish", topic: "a", colour: "red" }, ""],
      [{ action: "publish", topic: "a" }, "deviceId"],
    ];
    for (const [body, path, message] of bad) {
      const r = await check(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) {
        const e = r.body.errors.find((x: { path: string }) => x.path === path);
        expect(e, JSON.stringify(body)).toBeDefined();
        if (message) expect(e.message).toMatch(message);
      }
    }
    expect((await api.call("POST", "/api/v1/tenants/acme/access-check", { token: acmeViewer, raw: "{nope" })).status).toBe(400);
  });

  it("unknown devices, other tenants' devices and other tenants are 404; viewers may ask; no token is 401", async () => {
    const body = { deviceId: ids.d1, action: "publish", topic: "devices/d1/temp" };
    expect((await check(body, acmeViewer)).status).toBe(200);
    expect((await check({ ...body, deviceId: randomUUID() })).status).toBe(404);
    const foreign = await check({ ...body, deviceId: globexDevice });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get("content-type")).toContain("application/problem+json");
    expect((await check(body, globexAdmin)).status).toBe(404);
    expect((await check(body, acmeAdmin, "nope")).status).toBe(404);
    expect((await api.call("POST", "/api/v1/tenants/acme/access-check", { body })).status).toBe(401);
  });
});
