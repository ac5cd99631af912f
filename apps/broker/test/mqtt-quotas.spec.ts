import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MqttService } from "../src/mqtt/mqtt.service.ts";
import type { TenantCounters } from "../src/mqtt/tenancy/tenant-stats.ts";
import { startApi, type Api } from "./api-harness.ts";
import {
  addDevice,
  addRole,
  ALLOW_ALL,
  closeAll,
  connackOf,
  connectDevice,
  disconnected,
  inbox,
  patchTenant,
  provisionTenant,
  publish,
  refusal,
  setRules,
  sleep,
  subscribe,
  until,
  type Client,
  type DeviceLogin,
  type Rule,
  type TenantFixture,
} from "./mqtt-tenant-kit.ts";

/**
 * Tenant quotas and topic permissions, end to end: quotas are set through
 * the admin API as platform administrator; exceeding one is reported to the
 * client (v5 reason codes), counted in the tenant's counters, and never
 * slows or refuses another tenant. Permissions: denial codes, first match by
 * priority, `${clientid}` rules, partial denies enforced per delivery, and
 * live effect of role and device changes.
 */

const DEVICES = ["c1", "c2", "c3", "c4", "c5", "c6"];
type Quotas = Record<"maxConnections" | "maxSubscriptionsPerClient" | "maxMessagesPerSecond" | "maxBytesPerSecond" | "maxRetainedMessages" | "maxQueuedMessages" | "maxPacketSize", number | null>;
const NO_QUOTAS: Quotas = {
  maxConnections: null,
  maxSubscriptionsPerClient: null,
  maxMessagesPerSecond: null,
  maxBytesPerSecond: null,
  maxRetainedMessages: null,
  maxQueuedMessages: null,
  maxPacketSize: null,
};

describe("MQTT tenant quotas and permissions", () => {
  let api: Api;
  let port: number;
  let acme: TenantFixture;
  let globex: TenantFixture;
  const open: Client[] = [];

  const stats = (slug: string): TenantCounters => api.broker.app.get(MqttService).tenancy.stats.of(slug);
  const snapshot = (slug: string) => {
    const s = stats(slug);
    return { drops: { ...s.drops }, denials: { ...s.denials }, messagesIn: s.messagesIn };
  };
  const delta = (before: Record<string, number>, after: Record<string, number>, key: string) => (after[key] ?? 0) - (before[key] ?? 0);
  const connect = (t: TenantFixture | string, d: DeviceLogin | string, opts: Parameters<typeof connectDevice>[3] = {}) => {
    const slug = typeof t === "string" ? t : t.slug;
    const login = typeof d === "string" ? (t as TenantFixture).devices[d]! : d;
    return connectDevice(port, slug, login, opts).then((c) => {
      open.push(c);
      return c;
    });
  };
  const quotas = (q: Partial<Quotas>) => patchTenant(api, "acme", { quotas: { ...NO_QUOTAS, ...q } });

  beforeAll(async () => {
    // The default failed-authentication brake (20 a minute per address) stays on: quota refusals must not feed it.
    api = await startApi("embedded");
    port = api.broker.ports.tcp!;
    acme = await provisionTenant(api, "acme", DEVICES);
    globex = await provisionTenant(api, "globex", DEVICES);
  }, 60_000);
  // Each test starts clean even when the one before failed half-way.
  afterEach(async () => {
    await closeAll(...open.splice(0));
    await quotas({});
    await until(() => stats("acme").connections === 0 && stats("globex").connections === 0, 3000, "all clients gone");
  });
  afterAll(async () => {
    await api?.close();
  });

  describe("quotas", () => {
    it("maxConnections: the connection over the quota is refused with 0x97 (v3.1.1: 3) and counted; globex connects freely", async () => {
      await quotas({ maxConnections: 2 });
      const before = snapshot("acme");
      const c1 = await connect(acme, "c1");
      const c2 = await connect(acme, "c2");
      expect(await refusal(connect(acme, "c3"))).toBe(0x97); // Quota exceeded
      expect(await refusal(connect(acme, "c3", { protocolVersion: 4 }))).toBe(3); // Server unavailable
      expect(delta(before.denials, snapshot("acme").denials, "quota-connections")).toBe(2);
      expect(stats("acme").connections).toBe(2);
      // The same device reconnecting takes over its own connection: not a new one.
      const c2b = await connect(acme, "c2");
      expect(c2b.connected).toBe(true);
      // globex has no quota and is not affected by acme's.
      const g = await Promise.all(["c1", "c2", "c3", "c4"].map((d) => connect(globex, d)));
      expect(g.every((c) => c.connected)).toBe(true);
      // Control: a slot freed is a slot available.
      await closeAll(c1);
      await until(() => stats("acme").connections === 1, 2000, "acme connection count");
      const c3 = await connect(acme, "c3");
      expect(c3.connected).toBe(true);
      await closeAll(c2, c2b, c3, ...g);
    });

    it("maxConnections holds against a burst of simultaneous CONNECTs", async () => {
      await quotas({ maxConnections: 2 });
      // Rewriting the role empties the permission cache, so each CONNECT waits on the database after
      // its quota check: the window in which simultaneous CONNECTs could all pass a check made too early.
      await setRules(api, "acme", acme.roleId, ALLOW_ALL);
      const results = await Promise.allSettled(DEVICES.map((d) => connect(acme, d)));
      const accepted = results.filter((r) => r.status === "fulfilled").length;
      expect(accepted).toBe(2);
      expect(stats("acme").connections).toBe(2);
      await closeAll(...results.map((r) => (r.status === "fulfilled" ? r.value : undefined)));
    });

    it("refusals for acme's quota do not count as failed logins: 30 of them do not lock globex out", async () => {
      await quotas({ maxConnections: 1 });
      const holder = await connect(acme, "c1");
      for (let i = 0; i < 30; i++) expect(await refusal(connect(acme, "c2"))).toBe(0x97);
      const g = await connect(globex, "c1");
      expect(g.connected).toBe(true);
      await closeAll(holder, g);
    });

    it("maxSubscriptionsPerClient: SUBACK 0x97 (v3.1.1: 0x80) past the quota, also within one SUBSCRIBE; re-subscribing is not new", async () => {
      await quotas({ maxSubscriptionsPerClient: 2 });
      const before = snapshot("acme");
      const c = await connect(acme, "c1");
      expect(await subscribe(c, ["s/1", "s/2"])).toEqual([1, 1]);
      expect(await subscribe(c, "s/3")).toEqual([0x97]);
      expect(await subscribe(c, ["s/1", "s/2"], { qos: 0 })).toEqual([0, 0]); // replacing existing subscriptions
      const v3 = await connect(acme, "c2", { protocolVersion: 4 });
      expect(await subscribe(v3, ["s/1", "s/2"])).toEqual([1, 1]);
      expect(await subscribe(v3, "s/3")).toEqual([0x80]);
      // Many filters in one SUBSCRIBE are counted one by one.
      const burst = await connect(acme, "c3");
      expect(await subscribe(burst, ["b/1", "b/2", "b/3", "b/4"])).toEqual([1, 1, 0x97, 0x97]);
      // A shared subscription counts like any other, and re-subscribing to it is not new either.
      const shared = await connect(acme, "c4");
      expect(await subscribe(shared, ["$share/g/x", "y"])).toEqual([1, 1]);
      expect(await subscribe(shared, "$share/g/x")).toEqual([1]);
      expect(await subscribe(shared, "$share/h/x")).toEqual([0x97]);
      expect(delta(before.denials, snapshot("acme").denials, "quota-subscriptions")).toBe(5);
      // globex: no limit.
      const g = await connect(globex, "c1");
      expect(await subscribe(g, ["s/1", "s/2", "s/3", "s/4", "s/5"])).toEqual([1, 1, 1, 1, 1]);
      await closeAll(c, v3, burst, shared, g);
    });

    it("maxMessagesPerSecond: PUBACK 0x97 over the rate, counted; a globex publisher keeps its full rate meanwhile", async () => {
      await quotas({ maxMessagesPerSecond: 20 });
      const before = snapshot("acme");
      const aPub = await connect(acme, "c1");
      const aSub = await connect(acme, "c2");
      const gPub = await connect(globex, "c1");
      const gSub = await connect(globex, "c2");
      await subscribe(aSub, "rate/#");
      await subscribe(gSub, "rate/#");
      const aBox = inbox(aSub);
      const gBox = inbox(gSub);
      const t0 = Date.now();
      const [aCodes, gCodes] = await Promise.all([
        Promise.all(Array.from({ length: 100 }, (_, i) => publish(aPub, `rate/${i}`, `m${i}`, { qos: 1 }))),
        Promise.all(Array.from({ length: 500 }, (_, i) => publish(gPub, `rate/${i}`, `m${i}`, { qos: 1 }))),
      ]);
      const elapsed = (Date.now() - t0) / 1000;
      const accepted = aCodes.filter((c) => c === 0).length;
      const refused = aCodes.filter((c) => c === 0x97).length;
      expect(accepted + refused).toBe(100);
      // One second of burst plus what refills while the 100 are sent.
      expect(accepted).toBeGreaterThanOrEqual(20);
      expect(accepted).toBeLessThanOrEqual(20 + Math.ceil(elapsed * 20) + 1);
      expect(delta(before.drops, snapshot("acme").drops, "quota-message-rate")).toBe(refused);
      // globex: every one accepted and delivered.
      expect(gCodes.every((c) => c === 0)).toBe(true);
      await until(() => gBox.length === 500 && aBox.length === accepted, 3000, "deliveries");
      expect(stats("globex").drops["quota-message-rate"] ?? 0).toBe(0);

      // QoS 0 over the rate is dropped silently but counted; v3.1.1 QoS 1 gets a plain PUBACK and is dropped.
      const v3 = await connect(acme, "c3", { protocolVersion: 4 });
      await sleep(1100); // refill
      const drops0 = stats("acme").drops["quota-message-rate"] ?? 0;
      const received0 = aBox.length;
      const t1 = Date.now();
      for (let i = 0; i < 60; i++) aPub.publish(`rate/q0/${i}`, "x", { qos: 0 });
      const v3Codes = await Promise.all(Array.from({ length: 30 }, (_, i) => publish(v3, `rate/v3/${i}`, "x", { qos: 1 })));
      const elapsed1 = (Date.now() - t1) / 1000;
      expect(v3Codes.every((c) => c === 0)).toBe(true);
      await sleep(300);
      const passed = aBox.length - received0;
      const dropped = (stats("acme").drops["quota-message-rate"] ?? 0) - drops0;
      expect(passed + dropped).toBe(90);
      expect(passed).toBeGreaterThanOrEqual(20);
      expect(passed).toBeLessThanOrEqual(20 + Math.ceil((elapsed1 + 0.3) * 20) + 1);
      await closeAll(aPub, aSub, gPub, gSub, v3);
    });

    it("maxBytesPerSecond: PUBACK 0x97 once the bytes run out, counted; globex unaffected", async () => {
      await quotas({ maxBytesPerSecond: 1000 });
      const before = snapshot("acme");
      const a = await connect(acme, "c1");
      const g = await connect(globex, "c1");
      const payload = Buffer.alloc(300, 0x61);
      const aCodes: number[] = [];
      const gCodes: number[] = [];
      for (let i = 0; i < 6; i++) {
        aCodes.push(await publish(a, "bytes/x", payload, { qos: 1 }));
        gCodes.push(await publish(g, "bytes/x", payload, { qos: 1 }));
      }
      expect(aCodes.slice(0, 3)).toEqual([0, 0, 0]);
      expect(aCodes.slice(3)).toContain(0x97);
      expect(delta(before.drops, snapshot("acme").drops, "quota-byte-rate")).toBe(aCodes.filter((c) => c === 0x97).length);
      expect(gCodes.every((c) => c === 0)).toBe(true);
      await closeAll(a, g);
    });

    it("maxRetainedMessages: a new retained topic past the quota gets 0x97; replacing or clearing one does not count", async () => {
      await quotas({ maxRetainedMessages: 3 });
      const before = snapshot("acme");
      const a = await connect(acme, "c1");
      for (let i = 1; i <= 3; i++) expect(await publish(a, `ret/${i}`, `v${i}`, { qos: 1, retain: true })).toBe(0);
      expect(await publish(a, "ret/4", "v4", { qos: 1, retain: true })).toBe(0x97);
      expect(await publish(a, "ret/1", "v1b", { qos: 1, retain: true })).toBe(0); // replaces
      expect(await publish(a, "ret/2", "", { qos: 1, retain: true })).toBe(0); // clears
      expect(await publish(a, "ret/4", "v4", { qos: 1, retain: true })).toBe(0); // room again
      expect(await publish(a, "ret/5", "v5", { qos: 1, retain: true })).toBe(0x97);
      expect(await publish(a, "plain", "not retained", { qos: 1 })).toBe(0);
      expect(delta(before.drops, snapshot("acme").drops, "quota-retained")).toBe(2);
      // globex keeps ten.
      const g = await connect(globex, "c1");
      for (let i = 1; i <= 10; i++) expect(await publish(g, `ret/${i}`, `g${i}`, { qos: 1, retain: true })).toBe(0);
      const s = await connect(acme, "c2");
      await subscribe(s, "ret/#");
      await until(() => inbox(s).length === 3, 2000, "acme's retained messages");
      expect(inbox(s).map((m) => m.payload).sort()).toEqual(["v1b", "v3", "v4"]);
      for (const t of ["ret/1", "ret/3", "ret/4"]) await publish(a, t, "", { qos: 1, retain: true });
      for (let i = 1; i <= 10; i++) await publish(g, `ret/${i}`, "", { qos: 1, retain: true });
      await closeAll(a, g, s);
    });

    it("maxQueuedMessages: an offline session keeps that many and drops (and counts) the rest; globex's keeps all", async () => {
      await quotas({ maxQueuedMessages: 5 });
      const before = snapshot("acme");
      const persistent = { clean: false, properties: { sessionExpiryInterval: 300 } };
      for (const t of [acme, globex]) {
        const c = await connect(t, "c5", { ...persistent, clean: true });
        await subscribe(c, "queue/#", { qos: 1 });
        await c.endAsync();
      }
      const aPub = await connect(acme, "c1");
      const gPub = await connect(globex, "c1");
      for (let i = 0; i < 10; i++) {
        await publish(aPub, `queue/${i}`, `a${i}`, { qos: 1 });
        await publish(gPub, `queue/${i}`, `g${i}`, { qos: 1 });
      }
      const a = await connect(acme, "c5", persistent);
      const g = await connect(globex, "c5", persistent);
      expect(connackOf(a).sessionPresent && connackOf(g).sessionPresent).toBe(true);
      await until(() => inbox(a).length === 5 && inbox(g).length === 10, 3000, "queued messages");
      await sleep(200);
      expect(inbox(a).map((m) => m.payload)).toEqual(["a0", "a1", "a2", "a3", "a4"]);
      expect(delta(before.drops, snapshot("acme").drops, "queue-full")).toBe(5);
      expect(stats("globex").drops["queue-full"] ?? 0).toBe(0);
      for (const c of [a, g]) await c.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
      await closeAll(aPub, gPub);
    });

    it("maxPacketSize: advertised in the v5 CONNACK; a larger packet is refused with DISCONNECT 0x95; globex sends it fine", async () => {
      await quotas({ maxPacketSize: 256 });
      const a = await connect(acme, "c1");
      expect(connackOf(a).properties?.maximumPacketSize).toBe(256);
      const gone = disconnected(a);
      a.publish("big", Buffer.alloc(1000, 0x61), { qos: 1 });
      expect(await gone).toBe(0x95); // Packet too large
      const v3 = await connect(acme, "c2", { protocolVersion: 4 });
      const v3Gone = disconnected(v3);
      v3.publish("big", Buffer.alloc(1000, 0x61), { qos: 1 });
      expect(await v3Gone).toBeUndefined(); // v3.1.1: the connection is just closed
      // A packet within the quota is fine (control), and globex has no such quota.
      const a2 = await connect(acme, "c3");
      expect(await publish(a2, "small", Buffer.alloc(100, 0x61), { qos: 1 })).toBe(0);
      const g = await connect(globex, "c1");
      expect(connackOf(g).properties?.maximumPacketSize).toBeGreaterThan(256);
      expect(await publish(g, "big", Buffer.alloc(1000, 0x61), { qos: 1 })).toBe(0);
      await closeAll(a2, g);
    });

    // The engine calls onClientDisconnected with reason 0 whatever the reason, and has no hook
    // for a packet refused as too large, so the tenancy layer cannot count it. Flip to `it` once it can.
    it("maxPacketSize: a packet refused as too large is counted in the tenant's counters", async () => {
      await quotas({ maxPacketSize: 256 });
      const before = snapshot("acme");
      const a = await connect(acme, "c1");
      const gone = disconnected(a);
      a.publish("big", Buffer.alloc(1000, 0x61), { qos: 1 });
      await gone;
      // The client sees the DISCONNECT before the broker has finished closing its side.
      await until(() => (snapshot("acme").denials["packet-too-large"] ?? 0) > (before.denials["packet-too-large"] ?? 0), 3000, "packet-too-large counted");
      const after = snapshot("acme");
      expect((after.denials["packet-too-large"] ?? 0) - (before.denials["packet-too-large"] ?? 0)).toBe(1);
    });
  });

  describe("permissions", () => {
    let seq = 0;
    /** A fresh device in acme bound to a fresh role with these rules. */
    const deviceWith = async (rules: Rule[]) => {
      const n = ++seq;
      const roleId = await addRole(api, "acme", `r${n}`, rules);
      const d = await addDevice(api, "acme", `acl-${n}`, [roleId]);
      return { roleId, device: d };
    };
    /** A subscriber in acme that sees everything, to observe what was routed. */
    const observer = async () => {
      const o = await connect(acme, "c6");
      await subscribe(o, "#");
      return o;
    };

    it("denials: v5 PUBACK 0x87 and SUBACK 0x87, v3.1.1 SUBACK 0x80 and a dropped publish; `${clientid}` scopes a device to its own topics", async () => {
      const { device } = await deviceWith([
        { effect: "allow", action: "publish", topicFilter: "tele/${clientid}/#" },
        { effect: "allow", action: "subscribe", topicFilter: "cmd/${clientid}/#" },
      ]);
      const before = snapshot("acme");
      const o = await observer();
      const c = await connect("acme", device);
      const id = device.clientId;
      expect(await publish(c, `tele/${id}/temp`, "ok", { qos: 1 })).toBe(0);
      expect(await publish(c, "tele/someone-else/temp", "no", { qos: 1 })).toBe(0x87);
      expect(await publish(c, `cmd/${id}/x`, "no", { qos: 1 })).toBe(0x87); // subscribe-only
      expect(await subscribe(c, [`cmd/${id}/#`, "cmd/someone-else/#", "cmd/+/#", `tele/${id}/#`])).toEqual([1, 0x87, 0x87, 0x87]);
      const v3 = await connect("acme", device, { protocolVersion: 4 });
      expect(await subscribe(v3, [`cmd/${id}/#`, "cmd/+/#"])).toEqual([1, 0x80]);
      expect(await publish(v3, "tele/someone-else/temp", "v3-no", { qos: 1 })).toBe(0); // v3.1.1 has no negative PUBACK
      expect(await publish(v3, `tele/${id}/temp`, "v3-ok", { qos: 1 })).toBe(0);
      await until(() => inbox(o).some((m) => m.payload === "v3-ok"), 2000, "v3 publish");
      expect(inbox(o).map((m) => m.payload)).toEqual(["ok", "v3-ok"]);
      const after = snapshot("acme");
      expect(delta(before.denials, after.denials, "publish")).toBe(3);
      expect(delta(before.denials, after.denials, "subscribe")).toBe(4);
      await closeAll(c, v3, o);
    });

    it("the first matching rule by priority decides; at equal priority deny wins; no match is deny", async () => {
      const denyFirst = await deviceWith([
        { effect: "allow", action: "publish", topicFilter: "p/#", priority: 20 },
        { effect: "deny", action: "publish", topicFilter: "p/secret", priority: 10 },
      ]);
      const allowFirst = await deviceWith([
        { effect: "allow", action: "publish", topicFilter: "p/#", priority: 10 },
        { effect: "deny", action: "publish", topicFilter: "p/secret", priority: 20 },
      ]);
      const tie = await deviceWith([
        { effect: "allow", action: "publish", topicFilter: "p/secret", priority: 10 },
        { effect: "deny", action: "publish", topicFilter: "p/secret", priority: 10 },
        { effect: "allow", action: "publish", topicFilter: "p/#", priority: 10 },
      ]);
      const a = await connect("acme", denyFirst.device);
      const b = await connect("acme", allowFirst.device);
      const t = await connect("acme", tie.device);
      expect(await publish(a, "p/secret", "x", { qos: 1 })).toBe(0x87);
      expect(await publish(a, "p/open", "x", { qos: 1 })).toBe(0);
      expect(await publish(b, "p/secret", "x", { qos: 1 })).toBe(0);
      expect(await publish(t, "p/secret", "x", { qos: 1 })).toBe(0x87);
      expect(await publish(t, "p/open", "x", { qos: 1 })).toBe(0);
      expect(await publish(t, "q/unlisted", "x", { qos: 1 })).toBe(0x87);
      await closeAll(a, b, t);
    });

    it("a deny that only partly overlaps a granted subscription is enforced on each delivery", async () => {
      const { device } = await deviceWith([
        { effect: "deny", action: "subscribe", topicFilter: "plant/secret/#", priority: 10 },
        { effect: "allow", action: "both", topicFilter: "plant/#", priority: 20 },
      ]);
      const before = snapshot("acme");
      const c = await connect("acme", device);
      expect(await subscribe(c, ["plant/#", "plant/secret/#"])).toEqual([1, 0x87]);
      const pub = await connect(acme, "c1");
      for (const topic of ["plant/a", "plant/secret/b", "plant/secret", "plant/c"]) await publish(pub, topic, topic, { qos: 1 });
      await until(() => inbox(c).some((m) => m.topic === "plant/c"), 2000, "plant/c");
      await sleep(100);
      // `plant/secret/#` covers `plant/secret` too: `#` includes the parent level.
      expect(inbox(c).map((m) => m.topic)).toEqual(["plant/a", "plant/c"]);
      expect(delta(before.denials, snapshot("acme").denials, "deliver")).toBe(2);
      await closeAll(c, pub);
    });

    it("editing a role takes effect within 1 s: a subscriber losing its permission is disconnected with 0x87, a publisher gets 0x87 on the next PUBACK", async () => {
      const sub = await deviceWith([{ effect: "allow", action: "both", topicFilter: "live/#" }]);
      const pub = await deviceWith([{ effect: "allow", action: "both", topicFilter: "live/#" }]);
      const s = await connect("acme", sub.device);
      await subscribe(s, "live/#");
      const p = await connect("acme", pub.device);
      expect(await publish(p, "live/1", "before", { qos: 1 })).toBe(0);
      const sGone = disconnected(s);
      let t0 = Date.now();
      await setRules(api, "acme", sub.roleId, [{ effect: "allow", action: "both", topicFilter: "other/#" }]);
      expect(await sGone).toBe(0x87);
      expect(Date.now() - t0).toBeLessThan(1000);

      t0 = Date.now();
      await setRules(api, "acme", pub.roleId, [{ effect: "allow", action: "publish", topicFilter: "other/#" }]);
      let code = 0;
      while (code !== 0x87 && Date.now() - t0 < 1000) code = await publish(p, "live/1", "after", { qos: 1 });
      expect(code).toBe(0x87);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(p.connected).toBe(true);
      expect(await publish(p, "other/1", "allowed now", { qos: 1 })).toBe(0);
      await closeAll(p);
    });

    it("a permission lost while a persistent session is offline does not come back with the session", async () => {
      const { roleId, device } = await deviceWith([{ effect: "allow", action: "both", topicFilter: "#" }]);
      const persistent = { clean: false, properties: { sessionExpiryInterval: 300 } };
      const first = await connect("acme", device, persistent);
      expect(await subscribe(first, ["vault/#", "lobby/#"])).toEqual([1, 1]);
      await first.endAsync();
      await setRules(api, "acme", roleId, [{ effect: "allow", action: "both", topicFilter: "lobby/#" }]);
      const pub = await connect(acme, "c1");
      await publish(pub, "vault/1", "queued-secret", { qos: 1 });
      await publish(pub, "lobby/1", "queued-ok", { qos: 1 });
      const again = await connect("acme", device, persistent);
      expect(connackOf(again).sessionPresent).toBe(true);
      await publish(pub, "vault/2", "live-secret", { qos: 1 });
      await publish(pub, "lobby/2", "live-ok", { qos: 1 });
      await until(() => inbox(again).some((m) => m.payload === "live-ok"), 2000, "lobby messages");
      await sleep(100);
      expect(inbox(again).map((m) => m.payload)).toEqual(["queued-ok", "live-ok"]);
      // And a subscriber disconnected for a lost permission does not get it back by resuming its session.
      const s2 = await deviceWith([{ effect: "allow", action: "both", topicFilter: "#" }]);
      const c = await connect("acme", s2.device, persistent);
      await subscribe(c, "vault/#");
      const kicked = disconnected(c);
      await setRules(api, "acme", s2.roleId, [{ effect: "allow", action: "both", topicFilter: "lobby/#" }]);
      expect(await kicked).toBe(0x87);
      const back = await connect("acme", s2.device, persistent);
      await publish(pub, "vault/3", "after-kick", { qos: 1 });
      await publish(pub, "lobby/3", "after-kick-ok", { qos: 1 });
      await sleep(300);
      expect(inbox(back).map((m) => m.payload)).not.toContain("after-kick");
      for (const x of [again, back]) await x.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
      await closeAll(pub);
    });

    it("disabling or deleting a device disconnects it with 0x98 within 1 s, and it cannot come back", async () => {
      const a = await deviceWith([{ effect: "allow", action: "both", topicFilter: "#" }]);
      const b = await deviceWith([{ effect: "allow", action: "both", topicFilter: "#" }]);
      const ca = await connect("acme", a.device);
      const cb = await connect("acme", b.device);
      const g = await connect(globex, "c1");
      const aGone = disconnected(ca);
      const bGone = disconnected(cb);
      let t0 = Date.now();
      expect((await api.call("PATCH", `/api/v1/tenants/acme/devices/${a.device.id}`, { token: api.admin, body: { enabled: false } })).status).toBe(200);
      expect(await aGone).toBe(0x98);
      expect(Date.now() - t0).toBeLessThan(1000);
      t0 = Date.now();
      expect((await api.call("DELETE", `/api/v1/tenants/acme/devices/${b.device.id}`, { token: api.admin })).status).toBe(204);
      expect(await bGone).toBe(0x98);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(await refusal(connect("acme", a.device))).toBe(0x86);
      expect(await refusal(connect("acme", b.device))).toBe(0x86);
      expect(g.connected).toBe(true);
      await closeAll(g);
    });
  });
});
