import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttService } from "../src/mqtt/mqtt.service.ts";
import { startApi, type Api } from "./api-harness.ts";
import {
  addDevice,
  aliasOnlyPublish,
  addRole,
  closeAll,
  connectDevice,
  connackOf,
  connectRaw,
  disconnected,
  flush,
  inbox,
  patchTenant,
  provisionTenant,
  publish,
  refusal,
  sleep,
  subscribe,
  until,
  type Client,
  type Received,
  type TenantFixture,
} from "./mqtt-tenant-kit.ts";

/**
 * Tries to cross tenants every way we can think of; every attempt fails.
 *
 * Two tenants, acme and globex, whose devices may publish and subscribe to
 * everything (`#`) in their own tenant. Every payload names the tenant that
 * published it (`acme:...`), so "nothing crossed" is checked on every message
 * a client received, and every attempt has a control showing that the same
 * traffic inside one tenant does flow (so each test can fail).
 */

const DEVICES = ["sensor-1", "sensor-2", "sensor-3", "sensor-4", "share-a", "share-b", "persist-1", "will-1", "token-dev"];
const V5 = 5 as const;
const V311 = 4 as const;

describe("MQTT tenant isolation", () => {
  let api: Api;
  let port: number;
  let acme: TenantFixture;
  let globex: TenantFixture;
  const open: Client[] = [];

  const dev = (t: TenantFixture, clientId: string, opts: Parameters<typeof connectDevice>[3] = {}) =>
    connectDevice(port, t.slug, t.devices[clientId]!, opts).then((c) => {
      open.push(c);
      return c;
    });
  const anonymous = (opts: Parameters<typeof connectRaw>[1] = {}) =>
    connectRaw(port, { clientId: `anon-${Math.random().toString(36).slice(2)}`, ...opts }).then((c) => {
      open.push(c);
      return c;
    });
  /** Messages in `box` that another tenant (or the anonymous namespace) published. */
  const foreign = (box: Received[], own: string) => box.filter((m) => !m.payload.startsWith(own + ":"));

  beforeAll(async () => {
    // This suite refuses many CONNECTs on purpose; do not let the per-address brake refuse the rest.
    api = await startApi("embedded", { HALYARD_MAX_AUTH_FAILURES_PER_MINUTE: "100000" });
    port = api.broker.ports.tcp!;
    acme = await provisionTenant(api, "acme", DEVICES);
    globex = await provisionTenant(api, "globex", DEVICES);
  }, 60_000);
  afterAll(async () => {
    await closeAll(...open);
    await api?.close();
  });

  describe.each([V5, V311])("MQTT protocol level %i", (protocolVersion) => {
    const tag = `v${protocolVersion}`;

    it("#, +/#, + and +/+ subscriptions receive their own tenant's messages and none of the other's", async () => {
      const aSub = await dev(acme, "sensor-1", { protocolVersion });
      const aPub = await dev(acme, "sensor-2", { protocolVersion });
      const gSub = await dev(globex, "sensor-1", { protocolVersion });
      const gPub = await dev(globex, "sensor-2", { protocolVersion });
      const aBox = inbox(aSub);
      const gBox = inbox(gSub);
      for (const c of [aSub, gSub]) expect(await subscribe(c, ["#", "+/#", "+", "+/+"], { qos: 1 })).toEqual([1, 1, 1, 1]);

      const topics = [tag, `${tag}/a`, `${tag}/a/b`, "acme", "globex", "acme/x", "globex/x"];
      for (const topic of topics) {
        await publish(gPub, topic, `globex:${topic}`, { qos: 1 });
        await publish(aPub, topic, `acme:${topic}`, { qos: 1 });
      }
      await flush(aPub, aSub, aBox, `${tag}/done`, "acme:marker");
      await flush(gPub, gSub, gBox, `${tag}/done`, "globex:marker");

      // Control: each tenant's subscriber got its own tenant's messages, under the topics as published.
      const expected = topics.map((t) => [t, `acme:${t}`]);
      expect(aBox.filter((m) => topics.includes(m.topic)).map((m) => [m.topic, m.payload])).toEqual(expected);
      expect(gBox.filter((m) => topics.includes(m.topic)).map((m) => [m.topic, m.payload])).toEqual(expected.map(([t]) => [t, `globex:${t}`]));
      expect(foreign(aBox, "acme")).toEqual([]);
      expect(foreign(gBox, "globex")).toEqual([]);
      await closeAll(aSub, aPub, gSub, gPub);
    });

    it("a retained message of globex is never sent to acme, and acme's retained message on the same topic does not replace it", async () => {
      const topic = `${tag}/retained/1`;
      const gPub = await dev(globex, "sensor-2", { protocolVersion });
      const aPub = await dev(acme, "sensor-2", { protocolVersion });
      await publish(gPub, topic, "globex:kept", { qos: 1, retain: true });

      const aSub = await dev(acme, "sensor-1", { protocolVersion });
      const aBox = inbox(aSub);
      await subscribe(aSub, ["#", topic, `${tag}/+/1`]);
      await flush(aPub, aSub, aBox, `${tag}/retained/done-1`, "acme:marker");
      expect(foreign(aBox, "acme")).toEqual([]);
      expect(aBox.filter((m) => m.topic === topic)).toEqual([]);

      await publish(aPub, topic, "acme:own", { qos: 1, retain: true });
      const aSub2 = await dev(acme, "sensor-3", { protocolVersion });
      const aBox2 = inbox(aSub2);
      await subscribe(aSub2, topic);
      await until(() => aBox2.length > 0, 3000, "acme's own retained message");
      const gSub = await dev(globex, "sensor-3", { protocolVersion });
      const gBox = inbox(gSub);
      await subscribe(gSub, topic);
      await until(() => gBox.length > 0, 3000, "globex's retained message");
      await sleep(100);
      // Control: each tenant has its own retained message on the topic.
      expect(aBox2).toEqual([{ topic, payload: "acme:own", retain: true, qos: 1 }]);
      expect(gBox).toEqual([{ topic, payload: "globex:kept", retain: true, qos: 1 }]);

      // Clear both, so later tests subscribing to # see no leftovers.
      await publish(aPub, topic, "", { qos: 1, retain: true });
      await publish(gPub, topic, "", { qos: 1, retain: true });
      await closeAll(aPub, aSub, aSub2, gPub, gSub);
    });

    it("a will of a globex device never reaches acme, whatever its topic", async () => {
      const aSub = await dev(acme, "sensor-1", { protocolVersion });
      const aPub = await dev(acme, "sensor-2", { protocolVersion });
      const gSub = await dev(globex, "sensor-1", { protocolVersion });
      const aBox = inbox(aSub);
      const gBox = inbox(gSub);
      await subscribe(aSub, "#");
      await subscribe(gSub, "#");
      for (const willTopic of [`${tag}/will`, "acme/will", "../acme/will"]) {
        const doomed = await dev(globex, "will-1", { protocolVersion, will: { topic: willTopic, payload: Buffer.from(`globex:will:${willTopic}`), qos: 1, retain: false } });
        doomed.stream.destroy(); // abnormal close: the will is published
        await until(() => gBox.some((m) => m.payload === `globex:will:${willTopic}`), 3000, "the will (control)");
      }
      // And the same in acme, as the control that acme's subscriber would have seen one.
      const aDoomed = await dev(acme, "will-1", { protocolVersion, will: { topic: `${tag}/will`, payload: Buffer.from("acme:will"), qos: 1, retain: false } });
      aDoomed.stream.destroy();
      await until(() => aBox.some((m) => m.payload === "acme:will"), 3000, "acme's own will");
      await flush(aPub, aSub, aBox, `${tag}/will/done`, "acme:marker");
      expect(foreign(aBox, "acme")).toEqual([]);
      expect(foreign(gBox, "globex")).toEqual([]);
      expect(gBox.filter((m) => m.payload.startsWith("globex:will")).map((m) => m.topic)).toEqual([`${tag}/will`, "acme/will", "../acme/will"]);
      await closeAll(aSub, aPub, gSub);
    });

    it("the same client id in both tenants: both connect and stay connected, each in its own tenant", async () => {
      const a = await dev(acme, "sensor-4", { protocolVersion });
      const aGone = disconnected(a);
      const g = await dev(globex, "sensor-4", { protocolVersion });
      const gGone = disconnected(g);
      const aBox = inbox(a);
      const gBox = inbox(g);
      await subscribe(a, `${tag}/dup`);
      await subscribe(g, `${tag}/dup`);
      await publish(a, `${tag}/dup`, "acme:dup", { qos: 1 });
      await publish(g, `${tag}/dup`, "globex:dup", { qos: 1 });
      await until(() => aBox.length > 0 && gBox.length > 0, 3000, "own messages");
      await sleep(300);
      expect(a.connected && g.connected).toBe(true);
      expect(aBox.map((m) => m.payload)).toEqual(["acme:dup"]);
      expect(gBox.map((m) => m.payload)).toEqual(["globex:dup"]);

      // Control: the same client id again in acme does take over acme's connection, and only that one.
      const a2 = await dev(acme, "sensor-4", { protocolVersion });
      const code = await aGone;
      if (protocolVersion === 5) expect(code).toBe(0x8e); // Session taken over
      await sleep(200);
      expect(g.connected).toBe(true);
      expect(a2.connected).toBe(true);
      await closeAll(a2, g);
      expect(await gGone).toBeUndefined();
    });

    it("forged usernames are refused", async () => {
      const a = acme.devices["sensor-1"]!;
      const g = globex.devices["sensor-1"]!;
      const bad = protocolVersion === 5 ? 0x86 : 4; // Bad user name or password
      const attempts: [string, string, string][] = [
        ["sensor-1@acme", g.password, "acme's username with globex's password"],
        ["sensor-1@globex@acme", a.password, "two tenants, acme's password"],
        ["sensor-1@globex@acme", g.password, "two tenants, globex's password"],
        ["sensor-1@acme@globex", a.password, "two tenants the other way round"],
        ["@acme", a.password, "empty username"],
        ["sensor-1@", a.password, "empty tenant"],
        ["sensor-1", a.password, "no tenant"],
        ["sensor-1@ACME", a.password, "tenant in capitals"],
        ["sensor-1@acme ", a.password, "trailing space"],
        ["sensor-1@nosuchtenant", a.password, "unknown tenant"],
        ["sensor-1@_anonymous", a.password, "the anonymous namespace"],
      ];
      for (const [username, password, what] of attempts) {
        expect(await refusal(connectRaw(port, { protocolVersion, clientId: "sensor-1", username, password })), what).toBe(bad);
      }
      expect(await refusal(connectRaw(port, { protocolVersion, clientId: "sensor-1", username: "sensor-1@acme" })), "no password").toBe(bad);
      // U+0000 in the username is malformed [MQTT-1.5.4-2]: v5 CONNACK 0x81, v3.1.1 closed without CONNACK.
      expect(await refusal(connectRaw(port, { protocolVersion, clientId: "sensor-1", username: "sensor-1@acme\u0000", password: a.password })), "trailing NUL").toBe(
        protocolVersion === 5 ? 0x81 : undefined,
      );
      // A right login for another device's client id is not a way in either.
      expect(await refusal(connectRaw(port, { protocolVersion, clientId: "sensor-2", username: "sensor-1@acme", password: a.password }))).toBe(
        protocolVersion === 5 ? 0x85 : 2,
      );
      // Control: the real login works.
      const ok = await dev(acme, "sensor-1", { protocolVersion });
      expect(ok.connected).toBe(true);
      await closeAll(ok);
    });

    it("a suspended tenant's devices are disconnected and refused; the other tenant's are untouched", async () => {
      const aSub = await dev(acme, "sensor-1", { protocolVersion });
      const gSub = await dev(globex, "sensor-1", { protocolVersion });
      const gPub = await dev(globex, "sensor-2", { protocolVersion });
      const gBox = inbox(gSub);
      await subscribe(gSub, `${tag}/suspend`);
      const aGone = disconnected(aSub);
      const gGone = disconnected(gSub);
      const t0 = Date.now();
      await patchTenant(api, "acme", { status: "suspended" });
      try {
        const code = await aGone;
        expect(Date.now() - t0).toBeLessThan(1500);
        if (protocolVersion === 5) expect(code).toBe(0x98); // Administrative action
        expect(await refusal(dev(acme, "sensor-1", { protocolVersion }))).toBe(protocolVersion === 5 ? 0x87 : 5);
        // globex carries on.
        await publish(gPub, `${tag}/suspend`, "globex:still-here", { qos: 1 });
        await until(() => gBox.length === 1, 3000, "globex message");
        expect(gSub.connected).toBe(true);
      } finally {
        await patchTenant(api, "acme", { status: "active" });
      }
      const back = await dev(acme, "sensor-1", { protocolVersion });
      expect(back.connected).toBe(true);
      await closeAll(back, gSub, gPub);
      expect(await gGone).toBeUndefined();
    });
  });

  it("$share groups with the same name in both tenants each get only their own tenant's messages", async () => {
    const members = await Promise.all([dev(acme, "share-a"), dev(acme, "share-b"), dev(globex, "share-a"), dev(globex, "share-b")]);
    const boxes = members.map(inbox);
    for (const m of members) expect(await subscribe(m, "$share/workers/jobs/#")).toEqual([1]);
    const aPub = await dev(acme, "sensor-2");
    const gPub = await dev(globex, "sensor-2");
    for (let i = 0; i < 10; i++) {
      await publish(aPub, `jobs/${i}`, `acme:job-${i}`, { qos: 1 });
      await publish(gPub, `jobs/${i}`, `globex:job-${i}`, { qos: 1 });
    }
    await until(() => boxes.reduce((n, b) => n + b.length, 0) >= 20, 3000, "20 jobs");
    await sleep(200);
    const [a1, a2, g1, g2] = boxes as [Received[], Received[], Received[], Received[]];
    // Control: each group got all of its tenant's jobs, shared between its members.
    expect([...a1, ...a2].map((m) => m.payload).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `acme:job-${i}`).sort());
    expect([...g1, ...g2].map((m) => m.payload).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `globex:job-${i}`).sort());
    expect(a1.length > 0 && a2.length > 0 && g1.length > 0 && g2.length > 0).toBe(true);
    await closeAll(...members, aPub, gPub);
  });

  it("topics that spell another tenant's prefix stay in the publisher's tenant", async () => {
    const aPub = await dev(acme, "sensor-2");
    const aSub = await dev(acme, "sensor-1");
    const gSub = await dev(globex, "sensor-1");
    const gPub = await dev(globex, "sensor-2");
    const anon = await anonymous();
    const aBox = inbox(aSub);
    const gBox = inbox(gSub);
    const anonBox = inbox(anon);
    await subscribe(aSub, "#");
    await subscribe(gSub, ["#", "acme/#", "/acme/#", "../acme/#", "globex/#", "_anonymous/#", "+/+/#"]);
    await subscribe(anon, ["#", "acme/#", "globex/#", "_anonymous/#"]);
    const spelled = ["globex/x", "../globex/x", "/globex/x", "//globex/x", "./globex/x", "globex", "_anonymous/x", "_anonymous", "acme/globex/x", "..", "globex/../acme/x"];
    for (const topic of spelled) expect(await publish(aPub, topic, `acme:${topic}`, { qos: 1 }), topic).toBe(0);
    await flush(gPub, gSub, gBox, "prefix/done", "globex:marker");
    await publish(anon, "anon/marker", "anon:marker", { qos: 1 });
    await until(() => anonBox.some((m) => m.topic === "anon/marker"), 3000, "anonymous marker");
    await flush(aPub, aSub, aBox, "prefix/done", "acme:marker");
    expect(foreign(gBox, "globex")).toEqual([]);
    expect(anonBox.filter((m) => !m.payload.startsWith("anon:"))).toEqual([]);
    // Control: acme's own subscriber received each one, under exactly the topic acme wrote.
    expect(aBox.filter((m) => spelled.includes(m.topic)).map((m) => m.topic)).toEqual(spelled);
    await closeAll(aPub, aSub, gSub, gPub, anon);
  });

  it("a topic alias set on one connection means nothing on another tenant's connection", async () => {
    const a = await dev(acme, "sensor-1", { properties: { topicAliasMaximum: 10 } });
    const aSub = await dev(acme, "sensor-3");
    const aBox = inbox(aSub);
    await subscribe(aSub, "alias/#");
    // acme sets alias 1 and uses it (control: it works on acme's own connection).
    expect(await publish(a, "alias/secret", "acme:set", { qos: 1, properties: { topicAlias: 1 } })).toBe(0);
    expect(await publish(a, "", "acme:by-alias", { qos: 1, properties: { topicAlias: 1 } })).toBe(0);
    await until(() => aBox.length === 2, 3000, "acme alias messages");
    expect(aBox.map((m) => [m.topic, m.payload])).toEqual([
      ["alias/secret", "acme:set"],
      ["alias/secret", "acme:by-alias"],
    ]);

    // globex uses alias 1 without setting it: a protocol error on its own connection, nothing routed.
    const g = await dev(globex, "sensor-1");
    const gGone = disconnected(g);
    g.stream.write(aliasOnlyPublish(1, "globex:by-alias", 7));
    expect(await gGone).toBe(0x82); // Protocol error
    // globex sets alias 1 to its own topic: acme's alias 1 still means acme's topic.
    const g2 = await dev(globex, "sensor-2");
    const gSub = await dev(globex, "sensor-3");
    const gBox = inbox(gSub);
    await subscribe(gSub, "#");
    await publish(g2, "alias/other", "globex:set", { qos: 1, properties: { topicAlias: 1 } });
    await publish(a, "", "acme:by-alias-2", { qos: 1, properties: { topicAlias: 1 } });
    await publish(g2, "", "globex:by-alias", { qos: 1, properties: { topicAlias: 1 } });
    await until(() => aBox.length === 3 && gBox.length === 2, 3000, "alias messages");
    await sleep(100);
    expect(aBox[2]).toMatchObject({ topic: "alias/secret", payload: "acme:by-alias-2" });
    expect(gBox.map((m) => [m.topic, m.payload])).toEqual([
      ["alias/other", "globex:set"],
      ["alias/other", "globex:by-alias"],
    ]);
    await closeAll(a, aSub, g2, gSub);
  });

  it("persistent sessions with the same client id in both tenants keep separate queues", async () => {
    const persistent = { clean: false, properties: { sessionExpiryInterval: 300 } };
    for (const t of [acme, globex]) {
      const c = await dev(t, "persist-1", { ...persistent, clean: true });
      await subscribe(c, "queue/#", { qos: 1 });
      await c.endAsync();
    }
    // Offline now; the session lives on (clean was only for the first connect, the expiry keeps it).
    const aPub = await dev(acme, "sensor-2");
    const gPub = await dev(globex, "sensor-2");
    for (let i = 0; i < 3; i++) await publish(aPub, `queue/${i}`, `acme:q${i}`, { qos: 1 });
    for (let i = 0; i < 2; i++) await publish(gPub, `queue/${i}`, `globex:q${i}`, { qos: 1 });

    const got: Record<string, Received[]> = {};
    for (const t of [globex, acme]) {
      const c = await dev(t, "persist-1", persistent);
      got[t.slug] = inbox(c);
    }
    await until(() => got.acme!.length === 3 && got.globex!.length === 2, 3000, "queued messages");
    await sleep(200);
    expect(got.acme!.map((m) => m.payload)).toEqual(["acme:q0", "acme:q1", "acme:q2"]);
    expect(got.globex!.map((m) => m.payload)).toEqual(["globex:q0", "globex:q1"]);
    await closeAll(aPub, gPub);
  });

  it("$SYS and other $-topics: denied by a `#` rule, and a `$SYS/#` subscriber sees only its own tenant's", async () => {
    const a = await dev(acme, "sensor-1");
    expect(await subscribe(a, ["$SYS/#", "$share/g/$SYS/#", "$x/#"])).toEqual([0x87, 0x87, 0x87]);
    expect(await publish(a, "$SYS/broker/uptime", "acme:sys", { qos: 1 })).toBe(0x87);
    await closeAll(a);

    // A device whose role does allow $SYS in its tenant.
    const sysRole = await addRole(api, "acme", "sys", [{ effect: "allow", action: "both", topicFilter: "$SYS/#" }]);
    const reader = await addDevice(api, "acme", "sys-reader", [sysRole]);
    const r = await connectDevice(port, "acme", reader);
    open.push(r);
    const rBox = inbox(r);
    expect(await subscribe(r, "$SYS/#")).toEqual([1]);
    const anon = await anonymous();
    const g = await dev(globex, "sensor-1");
    expect(await publish(anon, "$SYS/broker/x", "anon:sys", { qos: 1 })).toBe(0);
    expect(await publish(g, "$SYS/broker/x", "globex:sys", { qos: 1 })).toBe(0x87);
    // Control: acme's own $SYS publish reaches it.
    expect(await publish(r, "$SYS/broker/x", "acme:sys", { qos: 1 })).toBe(0);
    await until(() => rBox.some((m) => m.topic === "$SYS/broker/x"), 3000, "acme $SYS message");
    await sleep(100);
    // The broker's own periodic $SYS/broker/... updates for acme may arrive too; none of the others' messages may.
    expect(rBox.filter((m) => m.topic === "$SYS/broker/x").map((m) => m.payload)).toEqual(["acme:sys"]);
    expect(rBox.filter((m) => m.payload.includes("anon") || m.payload.includes("globex"))).toEqual([]);
    await closeAll(r, anon, g);
  });

  // [MQTT-4.7.2-1] under a mount point: the routed topic is `acme/$SYS/...`, whose first level is not `$`.
  it("a `#` subscriber does not receive its own tenant's $SYS messages, live or retained [MQTT-4.7.2-1]", async () => {
    const sysRole = await addRole(api, "acme", "sys-2", [{ effect: "allow", action: "both", topicFilter: "$SYS/#" }]);
    const writer = await addDevice(api, "acme", "sys-writer", [sysRole]);
    const w = await connectDevice(port, "acme", writer);
    open.push(w);
    const all = await dev(acme, "sensor-3");
    const box = inbox(all);
    await subscribe(all, "#");
    const wBox = inbox(w);
    await subscribe(w, "$SYS/#");
    expect(await publish(w, "$SYS/broker/y", "acme:sys-y", { qos: 1, retain: true })).toBe(0);
    await until(() => wBox.length > 0, 3000, "the $SYS message (control)");
    await flush(await dev(acme, "sensor-2"), all, box, "sys/done", "acme:marker");
    const late = await dev(acme, "sensor-4");
    await subscribe(late, ["#", "+/broker/#"]);
    await flush(await dev(acme, "sensor-1"), late, inbox(late), "sys/done-2", "acme:marker");
    expect(box.filter((m) => m.topic.startsWith("$"))).toEqual([]);
    expect(inbox(late).filter((m) => m.topic.startsWith("$"))).toEqual([]);
    expect(box.some((m) => m.topic === "sys/done") && inbox(late).some((m) => m.topic === "sys/done-2")).toBe(true);
    await publish(w, "$SYS/broker/y", "", { qos: 1, retain: true });
  });

  it("anonymous loopback clients live in _anonymous/: they see no tenant and publish into none", async () => {
    const anon = await anonymous({ clientId: "sensor-1" });
    const anonPub = await anonymous();
    const anonBox = inbox(anon);
    expect(await subscribe(anon, ["#", "+/#", "acme/#", "globex/#", "$share/g/#"])).toEqual([1, 1, 1, 1, 1]);
    const aSub = await dev(acme, "sensor-1");
    const aGone = disconnected(aSub);
    const aPub = await dev(acme, "sensor-2");
    const aBox = inbox(aSub);
    await subscribe(aSub, "#");
    for (const topic of ["x", "acme/x", "globex/x", "_anonymous/x", "../acme/x"]) {
      await publish(anonPub, topic, `anon:${topic}`, { qos: 1 });
      await publish(aPub, topic, `acme:${topic}`, { qos: 1 });
    }
    await flush(aPub, aSub, aBox, "anon/done", "acme:marker");
    await publish(anonPub, "anon/done", "anon:done", { qos: 1 });
    await until(() => anonBox.some((m) => m.topic === "anon/done"), 3000, "anonymous marker");
    expect(foreign(aBox, "acme")).toEqual([]);
    expect(anonBox.filter((m) => !m.payload.startsWith("anon:"))).toEqual([]);
    // Control: anonymous clients do see each other (their own namespace).
    expect(anonBox.some((m) => m.payload === "anon:x")).toBe(true);
    // The anonymous "sensor-1" did not take over acme's sensor-1.
    expect(aSub.connected).toBe(true);
    // Anonymous with a username is not anonymous: refused. (MQTT.js cannot send a password alone.)
    expect(await refusal(connectRaw(port, { clientId: "anon-x", username: "sensor-1" }))).toBe(0x86);
    await closeAll(anon, anonPub, aSub, aPub);
    expect(await aGone).toBeUndefined();
  });

  it("a token naming globex does not get into acme", async () => {
    const token = await api.oidc.mintAccessToken({ tenant: "globex", client_id: "token-dev", azp: "token-dev" });
    // Control: the token connects the globex device it was issued to.
    const g = await connectRaw(port, { clientId: "token-dev", username: "token-dev", password: token });
    open.push(g);
    const counters = api.broker.app.get(MqttService).tenancy.stats;
    expect(counters.of("globex").connections).toBeGreaterThan(0);
    // Naming acme beside it is refused, as is a client id that only acme has.
    expect(await refusal(connectRaw(port, { clientId: "token-dev", username: "token-dev@acme", password: token }))).toBe(0x87);
    const acmeOnly = await addDevice(api, "acme", "acme-only", [acme.roleId]);
    expect(await refusal(connectRaw(port, { clientId: acmeOnly.clientId, username: acmeOnly.clientId, password: token }))).toBe(0x87);
    const gBox = inbox(g);
    await subscribe(g, "#");
    const aPub = await dev(acme, "sensor-2");
    await publish(aPub, "token/x", "acme:token", { qos: 1 });
    await publish(g, "token/x", "globex:token", { qos: 1 });
    await until(() => gBox.length > 0, 3000, "globex token message");
    await sleep(100);
    expect(foreign(gBox, "globex")).toEqual([]);
    await closeAll(g, aPub);
  });

  it("a deleted tenant leaves nothing behind for a new tenant with the same slug", async () => {
    const old = await provisionTenant(api, "initech", ["sensor-1", "sensor-2"]);
    const p = await dev(old, "sensor-2", { will: { topic: "reports/will", payload: Buffer.from("initech-old:will"), qos: 1, retain: true } });
    await publish(p, "reports/tps", "initech-old:retained", { qos: 1, retain: true });
    const s = await dev(old, "sensor-1", { clean: false, properties: { sessionExpiryInterval: 3600 } });
    await subscribe(s, "reports/#");
    await s.endAsync();
    await publish(p, "reports/queued", "initech-old:queued", { qos: 1 });
    // Connected when its tenant goes, with a retained will.
    const gone = disconnected(p);
    const r = await api.call("DELETE", "/api/v1/tenants/initech", { token: api.admin });
    expect(r.status).toBe(204);
    expect(await gone).toBe(0x98);

    const fresh = await provisionTenant(api, "initech", ["sensor-1", "sensor-2"]);
    const c = await dev(fresh, "sensor-1", { clean: false, properties: { sessionExpiryInterval: 3600 } });
    const box = inbox(c);
    const sessionPresent = connackOf(c).sessionPresent;
    await subscribe(c, "#");
    const p2 = await dev(fresh, "sensor-2");
    await flush(p2, c, box, "reports/done", "initech:marker");
    expect(box.filter((m) => m.payload.startsWith("initech-old"))).toEqual([]);
    expect(sessionPresent).toBe(false);
    await closeAll(c, p2);
  });
});
