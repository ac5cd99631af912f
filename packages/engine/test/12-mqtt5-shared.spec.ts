import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { brokerFor, delay, until } from "./core-util.ts";
import { noMessage, type TestBroker } from "./harness.ts";
import { connectRaw, type PacketOf, type RawClient } from "./raw-client.ts";

/** Shared subscriptions `$share/<ShareName>/<filter>` (MQTT 5.0 §4.8.2). */

/** Counts every message each client receives on any topic. */
function collect(clients: MqttClient[]): string[][] {
  const got = clients.map(() => [] as string[]);
  clients.forEach((c, i) => c.on("message", (_topic, payload) => got[i]?.push(payload.toString())));
  return got;
}

async function members(t: TestBroker, n: number, filter: string, qos: 0 | 1 | 2 = 0): Promise<MqttClient[]> {
  const out: MqttClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await t.connect();
    await c.subscribeAsync(filter, { qos });
    out.push(c);
  }
  return out;
}

async function publishN(pub: MqttClient, topic: string, n: number, qos: 0 | 1 = 1): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < n; i++) {
    sent.push(String(i));
    await pub.publishAsync(topic, String(i), { qos });
  }
  return sent;
}

async function subscribeRaw(c: RawClient, subscriptions: PacketOf<"subscribe">["subscriptions"], messageId = 1): Promise<number[]> {
  c.send({ cmd: "subscribe", messageId, subscriptions });
  return (await c.nextPacket("suback")).granted as number[];
}

const total = (got: string[][]) => got.reduce((n, g) => n + g.length, 0);

describe("12 shared subscriptions", () => {
  it("[MQTT-4.8.2-1] each message goes to exactly one member of the group", async (ctx) => {
    const t = await brokerFor(ctx);
    const group = await members(t, 2, "$share/g1/sh/#", 1);
    const got = collect(group);
    const pub = await t.connect();
    const sent = await publishN(pub, "sh/x", 20);
    await until(() => total(got) >= 20, 3000, "20 deliveries");
    await delay(100);
    expect(total(got)).toBe(20);
    expect([...(got[0] ?? []), ...(got[1] ?? [])].sort((a, b) => Number(a) - Number(b))).toEqual(sent);
    // Delivered with the topic as published, not the $share filter.
    const topics = new Set<string>();
    for (const c of group) c.on("message", (topic) => topics.add(topic));
    await pub.publishAsync("sh/y/z", "t", { qos: 1 });
    await until(() => topics.size === 1);
    expect([...topics]).toEqual(["sh/y/z"]);
  });

  it("round-robin over 3 online members is even (within 1) for 300 messages", async (ctx) => {
    const t = await brokerFor(ctx);
    const group = await members(t, 3, "$share/rr/rr/t", 0);
    const got = collect(group);
    const pub = await t.connect();
    for (let i = 0; i < 300; i++) pub.publish("rr/t", String(i), { qos: 0 });
    await until(() => total(got) >= 300, 5000, "300 deliveries");
    await delay(50);
    expect(total(got)).toBe(300);
    for (const g of got) {
      expect(g.length).toBeGreaterThanOrEqual(99);
      expect(g.length).toBeLessThanOrEqual(101);
    }
    expect(new Set(got.flat()).size).toBe(300);
  });

  it("two groups on the same filter each get every message, and a non-shared subscriber gets every message too", async (ctx) => {
    const t = await brokerFor(ctx);
    const a = await members(t, 2, "$share/ga/two/#", 1);
    const b = await members(t, 2, "$share/gb/two/#", 1);
    const plain = await members(t, 1, "two/#", 1);
    const gotA = collect(a);
    const gotB = collect(b);
    const gotPlain = collect(plain);
    const pub = await t.connect();
    const sent = await publishN(pub, "two/t", 10);
    await until(() => total(gotA) >= 10 && total(gotB) >= 10 && total(gotPlain) >= 10, 3000, "deliveries");
    await delay(100);
    const sorted = (g: string[][]) => g.flat().sort((x, y) => Number(x) - Number(y));
    expect(sorted(gotA)).toEqual(sent);
    expect(sorted(gotB)).toEqual(sent);
    expect(gotPlain[0]).toEqual(sent);
  });

  it("a client with both a shared and a non-shared subscription gets the message through each", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "both" });
    expect(await subscribeRaw(c, [{ topic: "$share/g/both/t", qos: 0 }, { topic: "both/t", qos: 0 }])).toEqual([0, 0]);
    const pub = await t.connect();
    await pub.publishAsync("both/t", "m", { qos: 1 });
    const got = await c.nextPackets(2, "publish");
    expect(got.map((p) => [p.topic, p.payload.toString()])).toEqual([
      ["both/t", "m"],
      ["both/t", "m"],
    ]);
  });

  it("[MQTT-4.8.2-1] [MQTT-4.8.2-2] invalid share names -> SUBACK 0x8F", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "bad-share" });
    const granted = await subscribeRaw(c, [
      { topic: "$share/+/x", qos: 0 },
      { topic: "$share/g", qos: 0 },
      { topic: "$share//x", qos: 0 },
      { topic: "$share/g#/x", qos: 0 },
      { topic: "$share/g/", qos: 0 },
      { topic: "$share/ok/x", qos: 1 },
    ]);
    expect(granted).toEqual([0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 1]);
  });

  it("[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error -> DISCONNECT 0x82", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "nl-share" });
    c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "$share/g/nl/t", qos: 0, nl: true }] });
    const d = await c.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x82);
    await c.closed();
  });

  it("sharedSubscriptionAvailable=false: advertised in CONNACK; $share filters get SUBACK 0x9E", async (ctx) => {
    const t = await brokerFor(ctx, { sharedSubscriptionAvailable: false });
    const c = await (await import("./raw-client.ts")).openRaw(t, 5);
    const connack = await c.connect({ clientId: "no-share" });
    expect(connack.properties?.sharedSubscriptionAvailable).toBe(false);
    expect(await subscribeRaw(c, [{ topic: "$share/g/x", qos: 0 }, { topic: "x", qos: 0 }])).toEqual([0x9e, 0]);
  });

  it("§3.3.1.3: retained messages are not sent to a new shared subscription", async (ctx) => {
    const t = await brokerFor(ctx);
    const pub = await t.connect();
    await pub.publishAsync("ret/sh", "kept", { qos: 1, retain: true });
    const c = await connectRaw(t, 5, { clientId: "share-ret" });
    expect(await subscribeRaw(c, [{ topic: "$share/g/ret/#", qos: 1, rh: 0 }])).toEqual([1]);
    await c.noPacket(200);
    // The same client subscribing non-shared does get it.
    expect(await subscribeRaw(c, [{ topic: "ret/#", qos: 1 }], 2)).toEqual([1]);
    const r = await c.nextPacket("publish");
    expect([r.topic, r.retain]).toEqual(["ret/sh", true]);
  });

  it("when a member leaves, the remaining members get all the messages", async (ctx) => {
    const t = await brokerFor(ctx);
    const group = await members(t, 3, "$share/leave/lv/t", 1);
    const got = collect(group);
    const pub = await t.connect();
    await publishN(pub, "lv/t", 6);
    await until(() => total(got) >= 6);
    expect(got.map((g) => g.length)).toEqual([2, 2, 2]);

    await group[0]?.endAsync();
    for (const g of got) g.length = 0;
    const sent = await publishN(pub, "lv/t", 10);
    await until(() => total(got) >= 10);
    await delay(100);
    expect(got[0]).toEqual([]);
    expect((got[1]?.length ?? 0) + (got[2]?.length ?? 0)).toBe(10);
    expect(got[1]?.length).toBe(5);
    expect([...(got[1] ?? []), ...(got[2] ?? [])].sort((x, y) => Number(x) - Number(y))).toEqual(sent);
  });

  it("an offline member with a persistent session is skipped while another member is online", async (ctx) => {
    const t = await brokerFor(ctx);
    const away = await connectRaw(t, 5, { clientId: "share-away", properties: { sessionExpiryInterval: 60 } });
    await subscribeRaw(away, [{ topic: "$share/p/off/t", qos: 1 }]);
    const [online] = await members(t, 1, "$share/p/off/t", 1);
    const got = collect([online as MqttClient]);
    away.send({ cmd: "disconnect", reasonCode: 0 });
    await away.closed();
    const pub = await t.connect();
    const sent = await publishN(pub, "off/t", 8);
    await until(() => total(got) >= 8);
    expect(got[0]).toEqual(sent);
    expect(t.broker.sessions.get("share-away")?.queue.length).toBe(0);
  });

  it("UNSUBSCRIBE $share/g/f removes the membership: UNSUBACK 0x00, then 0x11, and no more messages", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "share-unsub" });
    await subscribeRaw(c, [{ topic: "$share/g/us/t", qos: 0 }]);
    const pub = await t.connect();
    await pub.publishAsync("us/t", "before", { qos: 1 });
    expect((await c.nextPacket("publish")).payload.toString()).toBe("before");

    c.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["$share/g/us/t"] });
    const ua = await c.nextPacket("unsuback");
    expect(ua.granted).toEqual([0x00]);
    c.send({ cmd: "unsubscribe", messageId: 3, unsubscriptions: ["$share/g/us/t", "$share/other/us/t"] });
    expect((await c.nextPacket("unsuback")).granted).toEqual([0x11, 0x11]);
    await pub.publishAsync("us/t", "after", { qos: 1 });
    await c.noPacket(200);
    expect(t.broker.stats.subscriptions).toBe(0);
  });

  it("unsubscribing one group keeps the client's other group and its plain subscription", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "share-unsub-2" });
    await subscribeRaw(c, [
      { topic: "$share/a/k/t", qos: 0 },
      { topic: "$share/b/k/t", qos: 0 },
    ]);
    c.send({ cmd: "unsubscribe", messageId: 2, unsubscriptions: ["$share/a/k/t", "k/t"] });
    expect((await c.nextPacket("unsuback")).granted).toEqual([0x00, 0x11]);
    const pub = await t.connect();
    await pub.publishAsync("k/t", "one", { qos: 1 });
    expect((await c.nextPacket("publish")).payload.toString()).toBe("one");
    await c.noPacket(150);
  });

  it("the delivery uses the member's granted QoS, and its subscription identifier", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "share-qos" });
    c.send({
      cmd: "subscribe",
      messageId: 1,
      subscriptions: [{ topic: "$share/q/sq/t", qos: 1 }],
      properties: { subscriptionIdentifier: 9 },
    });
    await c.nextPacket("suback");
    const pub = await t.connect();
    await pub.publishAsync("sq/t", "two", { qos: 2 });
    const p = await c.nextPacket("publish");
    expect(p.qos).toBe(1);
    expect(p.properties?.subscriptionIdentifier).toBe(9);
  });

  it("a v3.1.1 client can join a share group too", async (ctx) => {
    const t = await brokerFor(ctx);
    const v3 = await t.connect({ protocolVersion: 4 });
    const v5 = await t.connect();
    await v3.subscribeAsync("$share/mixed/mx/t", { qos: 0 });
    await v5.subscribeAsync("$share/mixed/mx/t", { qos: 0 });
    const got = collect([v3, v5]);
    const pub = await t.connect();
    await publishN(pub, "mx/t", 4);
    await until(() => total(got) >= 4);
    expect(got.map((g) => g.length)).toEqual([2, 2]);
    await noMessage(v3, 50);
  });
});
