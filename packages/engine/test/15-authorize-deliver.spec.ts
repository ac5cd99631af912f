import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { ReasonCode } from "../src/reason-codes.ts";
import { nextMessages, noMessage, startBroker, type TestBroker } from "./harness.ts";

describe("authorizeDeliver hook and administrative disconnects", () => {
  let t: TestBroker | undefined;
  afterEach(async () => t?.close());

  it("a message the hook refuses is not delivered and is counted; others still flow (QoS 0 and 1)", async () => {
    t = await startBroker({ hooks: { authorizeDeliver: (_c, topic) => !topic.startsWith("secret/") } });
    const sub = await t.connect();
    const pub = await t.connect();
    await sub.subscribeAsync("#", { qos: 1 });
    const got = nextMessages(sub, 2);
    await pub.publishAsync("secret/a", "x", { qos: 1 });
    await pub.publishAsync("public/a", "1", { qos: 0 });
    await pub.publishAsync("secret/b", "y", { qos: 0 });
    await pub.publishAsync("public/b", "2", { qos: 1 });
    expect((await got).map((m) => m.topic)).toEqual(["public/a", "public/b"]);
    await noMessage(sub, 200);
    expect(t.broker.stats.drops["not-authorized"]).toBe(2);
    // The refused QoS 1 delivery did not leak its packet id: the window still works.
    const more = nextMessages(sub, 50);
    for (let i = 0; i < 50; i++) await pub.publishAsync("public/c", String(i), { qos: 1 });
    expect((await more).length).toBe(50);
  });

  it("the hook sees the topic without the client's mount point", async () => {
    const seen: string[] = [];
    t = await startBroker({
      hooks: {
        authenticate: () => ({ ok: true, mountPoint: "tenant-a/" }),
        authorizePublish: () => 0,
        authorizeSubscribe: (_c, _f, q) => q,
        authorizeDeliver: (_c, topic) => (seen.push(topic), true),
      },
    });
    const sub = await t.connect();
    await sub.subscribeAsync("x/+");
    const got = nextMessages(sub, 1);
    await (await t.connect()).publishAsync("x/1", "m");
    expect((await got)[0]?.topic).toBe("x/1");
    expect(seen).toEqual(["x/1"]);
  });

  it("disconnectWhere sends v5 DISCONNECT with the reason to the selected clients only", async () => {
    t = await startBroker({ hooks: { authenticate: (r) => ({ ok: true, attributes: { device: r.clientId } }) } });
    const victim = await t.connect({ clientId: "victim" });
    const bystander = await t.connect({ clientId: "bystander" });
    const reason = new Promise<number | undefined>((resolve) => victim.once("disconnect", (p) => resolve(p.reasonCode)));
    expect(t.broker.disconnectWhere((c) => c.attributes.device === "victim", ReasonCode.AdministrativeAction)).toBe(1);
    expect(await reason).toBe(0x98);
    expect(bystander.connected).toBe(true);
    await bystander.publishAsync("still/ok", "1", { qos: 1 });
  });
});

describe("per-client limits from the authenticate hook", () => {
  let t: TestBroker | undefined;
  afterEach(async () => t?.close());
  const hooks = (limits: { maxPacketSize?: number; maxQueuedMessages?: number }, authorizePublish: () => number = () => 0) => ({
    authenticate: (r: { clientId: string }) => ({ ok: true as const, ...(r.clientId.startsWith("limited") ? { limits } : {}) }),
    authorizePublish,
    authorizeSubscribe: (_c: unknown, _f: string, q: 0 | 1 | 2) => q,
  });

  it("a tighter maximum packet size is advertised in CONNACK and enforced with DISCONNECT 0x95", async () => {
    t = await startBroker({ hooks: hooks({ maxPacketSize: 256 }) });
    const limited = mqtt.connect(t.url, { protocolVersion: 5, clientId: "limited-1", reconnectPeriod: 0 });
    const connack = await new Promise<mqtt.IConnackPacket>((resolve) => limited.once("connect", resolve));
    expect(connack.properties?.maximumPacketSize).toBe(256);
    const free = await t.connect({ clientId: "free-1" });
    const reason = new Promise<number | undefined>((resolve) => limited.once("disconnect", (p) => resolve(p.reasonCode)));
    limited.publish("big", Buffer.alloc(1000));
    expect(await reason).toBe(0x95);
    await free.publishAsync("big", Buffer.alloc(1000), { qos: 1 });
    limited.end(true);
  });

  it("a tighter queue limit applies to that client's session only", async () => {
    t = await startBroker({ hooks: hooks({ maxQueuedMessages: 3 }) });
    for (const id of ["limited-q", "free-q"]) {
      const c = await t.connect({ clientId: id, clean: false, properties: { sessionExpiryInterval: 60 } });
      await c.subscribeAsync("q/#", { qos: 1 });
      await c.endAsync();
    }
    const pub = await t.connect();
    for (let i = 0; i < 10; i++) await pub.publishAsync("q/x", String(i), { qos: 1 });
    expect(t.broker.sessions.get("limited-q")?.queue.length).toBe(3);
    expect(t.broker.sessions.get("free-q")?.queue.length).toBe(10);
    expect(t.broker.stats.drops["queue-full"]).toBe(7);
  });

  it("authorizePublish answering 0x96 disconnects with Message rate too high", async () => {
    t = await startBroker({ hooks: hooks({}, () => 0x96) });
    const c = await t.connect();
    const reason = new Promise<number | undefined>((resolve) => c.once("disconnect", (p) => resolve(p.reasonCode)));
    c.publish("t", "x", { qos: 1 });
    expect(await reason).toBe(0x96);
  });
});

describe("hooks given as a class instance", () => {
  let t: TestBroker | undefined;
  afterEach(async () => t?.close());

  it("methods on the prototype are used, bound to the instance (a spread would lose them and allow everything)", async () => {
    class Policy {
      calls = 0;
      authenticate(r: { username: string | undefined }) {
        this.calls++;
        return r.username === "ok" ? ({ ok: true } as const) : ({ ok: false, reasonCode: 0x86 } as const);
      }
      authorizePublish() {
        return 0;
      }
      authorizeSubscribe(_c: unknown, _f: string, q: 0 | 1 | 2) {
        return q;
      }
    }
    const policy = new Policy();
    t = await startBroker({ hooks: policy });
    await expect(t.connect({ username: "nope" })).rejects.toThrow(/Bad User Name or Password|not authorized|0x86|134/i);
    await t.connect({ username: "ok" });
    expect(policy.calls).toBe(2);
  });
});

describe("[MQTT-4.7.2-1] at the mount boundary", () => {
  let t: TestBroker | undefined;
  afterEach(async () => t?.close());

  it("a mounted client's leading wildcard does not match its own $ topics, live or retained; explicit $ filters do", async () => {
    t = await startBroker({
      hooks: { authenticate: () => ({ ok: true, mountPoint: "acme/" }) },
    });
    const pub = await t.connect();
    await pub.publishAsync("$SYS/retained", "r", { qos: 1, retain: true });
    const wild = await t.connect();
    const plus = await t.connect();
    const explicit = await t.connect();
    // Listen first: a retained message follows the SUBACK immediately.
    const explicitGot = nextMessages(explicit, 2);
    const wildGot = nextMessages(wild, 1);
    await wild.subscribeAsync("#", { qos: 1 });
    await plus.subscribeAsync("+/live", { qos: 1 });
    await explicit.subscribeAsync("$SYS/#", { qos: 1 });
    await pub.publishAsync("$SYS/live", "l", { qos: 1 });
    await pub.publishAsync("normal/x", "n", { qos: 1 });
    expect((await wildGot).map((m) => m.topic)).toEqual(["normal/x"]);
    expect((await explicitGot).map((m) => m.topic).sort()).toEqual(["$SYS/live", "$SYS/retained"]);
    await noMessage(plus, 200);
    await noMessage(wild, 100);
  });
});

describe("[MQTT-1.5.4-2] U+0000 in the username", () => {
  let t: TestBroker | undefined;
  afterEach(async () => t?.close());

  it("is refused at CONNECT before authentication sees it (v5 CONNACK 0x81; v3.1.1 closes without CONNACK)", async () => {
    const seen: (string | undefined)[] = [];
    t = await startBroker({ hooks: { authenticate: (r) => (seen.push(r.username), { ok: true }) } });
    for (const [protocolVersion, code] of [[5, 0x81], [4, undefined]] as const) {
      const c = mqtt.connect(t.url, { protocolVersion, clientId: `nul-${protocolVersion}`, username: "dev\u0000@acme", password: "x", reconnectPeriod: 0 });
      const outcome = await new Promise<{ code?: number } | "closed">((resolve) => {
        c.once("error", (e) => resolve(e as { code?: number }));
        c.once("close", () => resolve("closed"));
        c.once("connect", () => resolve({ code: -1 }));
      });
      if (code === undefined) expect(outcome).toBe("closed");
      else expect((outcome as { code?: number }).code).toBe(code);
      c.end(true);
    }
    expect(seen).toEqual([]);
    await t.connect({ username: "fine@acme", password: "x" });
    expect(seen).toEqual(["fine@acme"]);
  });
});
