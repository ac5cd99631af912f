import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { brokerFor, delay } from "./core-util.ts";
import { nextMessages, noMessage, type TestBroker } from "./harness.ts";
import { connectRaw, openRaw, type PacketOf, type RawClient } from "./raw-client.ts";

/** Topic aliases (§3.3.2.3.4), Receive Maximum (§3.3.4, §4.9) and Maximum Packet Size (§3.1.2.11.4, §3.2.2.3.6). */

type Publish = PacketOf<"publish">;

function publish(topic: string, payload: string | Buffer, qos: 0 | 1 | 2, messageId?: number, properties?: Publish["properties"]): Publish {
  const p: Publish = { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false };
  if (messageId !== undefined) p.messageId = messageId;
  if (properties) p.properties = properties;
  return p;
}

async function subscribeRaw(c: RawClient, filter: string, qos: 0 | 1 | 2): Promise<void> {
  c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: filter, qos }] });
  const suback = await c.nextPacket("suback");
  expect(suback.granted).toEqual([qos]);
}

/** A connected pair on its own topic; `check` proves the broker still routes. */
async function sentinel(t: TestBroker): Promise<{ check: (n: number) => Promise<void> }> {
  const a = await t.connect({ clientId: "sentinel-sub" });
  const b = await t.connect({ clientId: "sentinel-pub" });
  await a.subscribeAsync("sentinel/t", { qos: 1 });
  return {
    async check(n: number) {
      const got = nextMessages(a, 1);
      await b.publishAsync("sentinel/t", `ping ${n}`, { qos: 1 });
      const [m] = await got;
      expect(m?.payload.toString()).toBe(`ping ${n}`);
    },
  };
}

async function expectDisconnect(c: RawClient, reasonCode: number): Promise<void> {
  const d = await c.nextPacket("disconnect");
  expect(d.reasonCode).toBe(reasonCode);
  await c.closed();
}

describe("10 mqtt5 topic aliases", () => {
  describe("inbound (client to server)", () => {
    it("[MQTT-3.3.2-12] an alias set with a topic can then be used with an empty topic name", async (ctx) => {
      const t = await brokerFor(ctx, { topicAliasMaximum: 10 });
      const sub = await t.connect();
      await sub.subscribeAsync("in/#", { qos: 1 });
      const pub = await connectRaw(t, 5, { clientId: "alias-in" });
      const got = nextMessages(sub, 4);

      pub.send(publish("in/a", "1", 1, 1, { topicAlias: 10 }));
      expect((await pub.nextPacket("puback")).reasonCode).toBe(0);
      pub.send(publish("", "2", 1, 2, { topicAlias: 10 }));
      expect((await pub.nextPacket("puback")).reasonCode).toBe(0);
      // Re-pointing an alias with a new topic replaces the mapping.
      pub.send(publish("in/b", "3", 1, 3, { topicAlias: 10 }));
      await pub.nextPacket("puback");
      pub.send(publish("", "4", 0, undefined, { topicAlias: 10 }));

      const msgs = await got;
      expect(msgs.map((m) => [m.topic, m.payload.toString()])).toEqual([
        ["in/a", "1"],
        ["in/a", "2"],
        ["in/b", "3"],
        ["in/b", "4"],
      ]);
      // The alias is the publisher's business: it is not forwarded.
      expect(msgs.every((m) => m.packet.properties?.topicAlias === undefined)).toBe(true);
    });

    it("[MQTT-3.3.2-8] Topic Alias 0 -> DISCONNECT 0x94", async (ctx) => {
      const t = await brokerFor(ctx);
      const s = await sentinel(t);
      const c = await connectRaw(t, 5, { clientId: "alias-zero" });
      c.send(publish("x/y", "z", 0, undefined, { topicAlias: 0 }));
      await expectDisconnect(c, 0x94);
      await s.check(1);
    });

    it("[MQTT-3.3.2-9] a Topic Alias above the advertised Topic Alias Maximum -> DISCONNECT 0x94", async (ctx) => {
      const t = await brokerFor(ctx, { topicAliasMaximum: 4 });
      const s = await sentinel(t);
      const c = await openRaw(t, 5);
      const connack = await c.connect({ clientId: "alias-high" });
      expect(connack.properties?.topicAliasMaximum).toBe(4);
      c.send(publish("x/y", "ok", 1, 1, { topicAlias: 4 }));
      expect((await c.nextPacket("puback")).messageId).toBe(1);
      c.send(publish("x/y", "too high", 1, 2, { topicAlias: 5 }));
      await expectDisconnect(c, 0x94);
      await s.check(1);
    });

    it("a broker with Topic Alias Maximum 0 advertises none and refuses any alias with 0x94", async (ctx) => {
      const t = await brokerFor(ctx, { topicAliasMaximum: 0 });
      const c = await openRaw(t, 5);
      const connack = await c.connect({ clientId: "alias-none" });
      expect(connack.properties?.topicAliasMaximum).toBeUndefined();
      c.send(publish("x/y", "z", 0, undefined, { topicAlias: 1 }));
      await expectDisconnect(c, 0x94);
    });

    it("an empty topic with an alias that was never set is a protocol error -> DISCONNECT 0x82", async (ctx) => {
      const t = await brokerFor(ctx);
      const s = await sentinel(t);
      const c = await connectRaw(t, 5, { clientId: "alias-unknown" });
      c.send(publish("known/t", "a", 0, undefined, { topicAlias: 1 }));
      c.send(publish("", "b", 0, undefined, { topicAlias: 2 }));
      await expectDisconnect(c, 0x82);
      await s.check(1);
    });

    it("[MQTT-3.3.2-7] alias mappings do not survive a reconnect, even of a resumed session", async (ctx) => {
      const t = await brokerFor(ctx);
      const first = await connectRaw(t, 5, { clientId: "alias-carry", properties: { sessionExpiryInterval: 60 } });
      first.send(publish("carry/t", "a", 1, 1, { topicAlias: 1 }));
      await first.nextPacket("puback");
      first.send({ cmd: "disconnect", reasonCode: 0 });
      await first.closed();
      const second = await openRaw(t, 5);
      const connack = await second.connect({ clientId: "alias-carry", clean: false, properties: { sessionExpiryInterval: 60 } });
      expect(connack.sessionPresent).toBe(true);
      second.send(publish("", "b", 1, 2, { topicAlias: 1 }));
      await expectDisconnect(second, 0x82);
    });

    it("an empty topic without an alias is a protocol error -> DISCONNECT 0x82", async (ctx) => {
      const t = await brokerFor(ctx);
      const c = await connectRaw(t, 5, { clientId: "no-topic" });
      c.send(publish("", "b", 0));
      await expectDisconnect(c, 0x82);
    });
  });

  describe("outbound (server to client)", () => {
    it("[MQTT-3.3.2-11] the broker assigns aliases up to the client's Topic Alias Maximum, then sends full topics", async (ctx) => {
      const t = await brokerFor(ctx);
      const sub = await connectRaw(t, 5, { clientId: "alias-out", properties: { topicAliasMaximum: 2 } });
      await subscribeRaw(sub, "out/#", 0);
      const pub = await t.connect();
      for (const topic of ["out/1", "out/1", "out/2", "out/3", "out/3", "out/2", "out/1"]) {
        await pub.publishAsync(topic, topic, { qos: 1 });
      }
      const got = (await sub.nextPackets(7, "publish")).map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()]);
      expect(got).toEqual([
        ["out/1", 1, "out/1"],
        ["", 1, "out/1"],
        ["out/2", 2, "out/2"],
        ["out/3", undefined, "out/3"],
        ["out/3", undefined, "out/3"],
        ["", 2, "out/2"],
        ["", 1, "out/1"],
      ]);
    });

    it("QoS 1 deliveries with an alias keep their packet identifiers and flow", async (ctx) => {
      const t = await brokerFor(ctx);
      const sub = await connectRaw(t, 5, { clientId: "alias-out-q1", properties: { topicAliasMaximum: 5 } });
      await subscribeRaw(sub, "oq/#", 1);
      const pub = await t.connect();
      await pub.publishAsync("oq/t", "a", { qos: 1 });
      await pub.publishAsync("oq/t", "b", { qos: 1 });
      const [a, b] = await sub.nextPackets(2, "publish");
      expect([a?.topic, a?.qos, a?.properties?.topicAlias]).toEqual(["oq/t", 1, 1]);
      expect([b?.topic, b?.qos, b?.properties?.topicAlias]).toEqual(["", 1, 1]);
      expect(a?.messageId).not.toBe(b?.messageId);
      sub.send({ cmd: "puback", messageId: a?.messageId as number });
      sub.send({ cmd: "puback", messageId: b?.messageId as number });
      await delay(50);
      expect(t.broker.sessions.get("alias-out-q1")?.inflight.size).toBe(0);
    });

    it("a client that sets no Topic Alias Maximum never receives an alias [MQTT-3.3.2-11]", async (ctx) => {
      const t = await brokerFor(ctx);
      const sub = await connectRaw(t, 5, { clientId: "alias-off" });
      await subscribeRaw(sub, "na/#", 0);
      const pub = await t.connect();
      await pub.publishAsync("na/t", "1", { qos: 1 });
      await pub.publishAsync("na/t", "2", { qos: 1 });
      const got = await sub.nextPackets(2, "publish");
      expect(got.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([
        ["na/t", undefined],
        ["na/t", undefined],
      ]);
    });

    it("MQTT.js with topicAliasMaximum sees the right topic on every message", async (ctx) => {
      const t = await brokerFor(ctx);
      const sub = await t.connect({ properties: { topicAliasMaximum: 3 } });
      await sub.subscribeAsync("mj/#", { qos: 1 });
      const pub = await t.connect();
      const topics = ["mj/a", "mj/b", "mj/a", "mj/c", "mj/d", "mj/a", "mj/d", "mj/b"];
      const got = nextMessages(sub, topics.length);
      for (const [i, topic] of topics.entries()) await pub.publishAsync(topic, String(i), { qos: i % 2 === 0 ? 0 : 1 });
      const msgs = await got;
      expect(msgs.map((m) => [m.topic, m.payload.toString()])).toEqual(topics.map((topic, i) => [topic, String(i)]));
      // Aliases really were in use: the repeated topics came as alias-only PUBLISHes.
      expect(msgs.map((m) => m.packet.properties?.topicAlias)).toEqual([1, 2, 1, 3, undefined, 1, undefined, 2]);
    });
  });
});

describe("10 mqtt5 receive maximum", () => {
  it("CONNACK advertises the broker's Receive Maximum; a client exceeding it with unacknowledged QoS 2 -> DISCONNECT 0x93", async (ctx) => {
    const t = await brokerFor(ctx, { receiveMaximum: 2 });
    const s = await sentinel(t);
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "rm-in" });
    expect(connack.properties?.receiveMaximum).toBe(2);
    c.send(publish("rm/a", "1", 2, 1));
    expect((await c.nextPacket("pubrec")).messageId).toBe(1);
    c.send(publish("rm/a", "2", 2, 2));
    expect((await c.nextPacket("pubrec")).messageId).toBe(2);
    // §3.2.2.3.3: more than Receive Maximum unacknowledged QoS 2 PUBLISHes -> 0x93.
    c.send(publish("rm/a", "3", 2, 3));
    await expectDisconnect(c, 0x93);
    await s.check(1);
  });

  it("PUBREL/PUBCOMP frees a slot of the broker's receive window", async (ctx) => {
    const t = await brokerFor(ctx, { receiveMaximum: 2 });
    const c = await connectRaw(t, 5, { clientId: "rm-free" });
    c.send(publish("rm/b", "1", 2, 1));
    c.send(publish("rm/b", "2", 2, 2));
    await c.nextPackets(2, "pubrec");
    c.send({ cmd: "pubrel", messageId: 1 });
    expect((await c.nextPacket("pubcomp")).messageId).toBe(1);
    c.send(publish("rm/b", "3", 2, 3));
    expect((await c.nextPacket("pubrec")).messageId).toBe(3);
    // A retransmission of an unreleased id does not take a new slot [MQTT-4.3.3-10].
    c.send({ ...publish("rm/b", "2", 2, 2), dup: true });
    expect((await c.nextPacket("pubrec")).messageId).toBe(2);
    c.send(publish("rm/b", "4", 2, 4));
    await expectDisconnect(c, 0x93);
  });

  it("[MQTT-3.3.4-9] QoS 1: the broker never has more unacknowledged PUBLISHes than the client's Receive Maximum", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rm-out", properties: { receiveMaximum: 3 } });
    await subscribeRaw(sub, "flow/#", 1);
    const pub = await t.connect();
    for (let i = 0; i < 10; i++) await pub.publishAsync("flow/x", String(i), { qos: 1 });

    const window = await sub.nextPackets(3, "publish");
    expect(window.map((p) => p.payload.toString())).toEqual(["0", "1", "2"]);
    await sub.noPacket(200);
    sub.send({ cmd: "puback", messageId: window[0]?.messageId as number });
    const next = await sub.nextPacket("publish");
    expect(next.payload.toString()).toBe("3");
    await sub.noPacket(150);

    // Acknowledge everything as it arrives: the rest flows, in order, never more than 3 outstanding.
    const outstanding = new Set<number>([window[1]?.messageId as number, window[2]?.messageId as number, next.messageId as number]);
    const payloads: string[] = [];
    for (const id of [...outstanding]) {
      sub.send({ cmd: "puback", messageId: id });
      outstanding.delete(id);
    }
    while (payloads.length < 6) {
      const p = await sub.nextPacket("publish");
      outstanding.add(p.messageId as number);
      expect(outstanding.size).toBeLessThanOrEqual(3);
      payloads.push(p.payload.toString());
      sub.send({ cmd: "puback", messageId: p.messageId as number });
      outstanding.delete(p.messageId as number);
    }
    expect(payloads).toEqual(["4", "5", "6", "7", "8", "9"]);
  });

  it("[MQTT-3.3.4-9] QoS 2: a slot stays taken after PUBREC until PUBCOMP", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rm-out-2", properties: { receiveMaximum: 1 } });
    await subscribeRaw(sub, "flow2/#", 2);
    const pub = await t.connect();
    await pub.publishAsync("flow2/x", "a", { qos: 2 });
    await pub.publishAsync("flow2/x", "b", { qos: 2 });

    const a = await sub.nextPacket("publish");
    expect(a.payload.toString()).toBe("a");
    await sub.noPacket(150);
    sub.send({ cmd: "pubrec", messageId: a.messageId as number });
    expect((await sub.nextPacket("pubrel")).messageId).toBe(a.messageId);
    await sub.noPacket(150);
    sub.send({ cmd: "pubcomp", messageId: a.messageId as number });
    const b = await sub.nextPacket("publish");
    expect(b.payload.toString()).toBe("b");
  });

  it("[MQTT-3.3.4-9] a PUBREC with an error code frees the slot at once", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rm-out-3", properties: { receiveMaximum: 1 } });
    await subscribeRaw(sub, "flow3/#", 2);
    const pub = await t.connect();
    await pub.publishAsync("flow3/x", "a", { qos: 2 });
    await pub.publishAsync("flow3/x", "b", { qos: 2 });
    const a = await sub.nextPacket("publish");
    sub.send({ cmd: "pubrec", messageId: a.messageId as number, reasonCode: 0x80 });
    const b = await sub.nextPacket("publish");
    expect(b.payload.toString()).toBe("b");
  });
});

describe("10 mqtt5 maximum packet size", () => {
  it("a client packet above the broker's Maximum Packet Size -> DISCONNECT 0x95 and close; others keep working", async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 1024 });
    const s = await sentinel(t);
    const watcher = await t.connect();
    await watcher.subscribeAsync("big/#", { qos: 0 });
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "too-big" });
    expect(connack.properties?.maximumPacketSize).toBe(1024);
    c.send(publish("big/x", Buffer.alloc(2000, 0x61), 0));
    await expectDisconnect(c, 0x95);
    await noMessage(watcher, 100);
    expect(t.broker.stats.malformedPackets).toBe(1);
    await s.check(1);
  });

  it("the limit counts the whole packet: exactly Maximum Packet Size is accepted, one byte more is refused", async (ctx) => {
    const max = 512;
    const t = await brokerFor(ctx, { maxPacketSize: max });
    const watcher = await t.connect();
    await watcher.subscribeAsync("edge/#", { qos: 0 });
    // QoS 0, no properties: 1 (type) + 2 (remaining length) + 2 + 6 ("edge/x") + 1 (properties length) + payload.
    const overhead = 1 + 2 + 2 + 6 + 1;
    const c = await connectRaw(t, 5, { clientId: "edge" });
    const fits = publish("edge/x", Buffer.alloc(max - overhead, 0x62), 0);
    const got = nextMessages(watcher, 1);
    c.send(fits);
    expect((await got)[0]?.payload.length).toBe(max - overhead);
    c.send(publish("edge/x", Buffer.alloc(max - overhead + 1, 0x62), 0));
    await expectDisconnect(c, 0x95);
  });

  it("a packet above the limit split over many writes is refused before it is complete", async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 1024 });
    const c = await connectRaw(t, 5, { clientId: "trickle" });
    const bytes = (await import("mqtt-packet")).default.generate(publish("big/x", Buffer.alloc(4000, 0x61), 0), { protocolVersion: 5 });
    c.write(bytes.subarray(0, 100));
    await expectDisconnect(c, 0x95);
  });

  it("[MQTT-3.1.2-25] a PUBLISH larger than the client's Maximum Packet Size is dropped, smaller ones still arrive", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "small-max", properties: { maximumPacketSize: 200 } });
    await subscribeRaw(sub, "mp/#", 1);
    const pub = await t.connect();
    await pub.publishAsync("mp/q0", Buffer.alloc(300, 0x61), { qos: 0 });
    await pub.publishAsync("mp/q1", Buffer.alloc(300, 0x61), { qos: 1 });
    await pub.publishAsync("mp/small", "fits", { qos: 1 });
    const p = await sub.nextPacket("publish");
    expect(p.topic).toBe("mp/small");
    expect(p.payload.toString()).toBe("fits");
    sub.send({ cmd: "puback", messageId: p.messageId as number });
    await sub.noPacket(150);
    expect(t.broker.stats.drops["too-large"]).toBe(2);
    // Dropped as if delivered: nothing is left in flight or queued for the session.
    const session = t.broker.sessions.get("small-max");
    expect(session?.inflight.size).toBe(0);
    expect(session?.queue.length).toBe(0);
  });

  it("[MQTT-3.1.2-25] the drop is decided per subscriber: a client without a limit still gets the large message", async (ctx) => {
    const t = await brokerFor(ctx);
    const small = await t.connect({ properties: { maximumPacketSize: 128 } });
    const large = await t.connect();
    await small.subscribeAsync("per/#", { qos: 1 });
    await large.subscribeAsync("per/#", { qos: 1 });
    const pub = await t.connect();
    const bigGot = nextMessages(large, 2);
    const smallGot = nextMessages(small, 1);
    await pub.publishAsync("per/big", Buffer.alloc(1000, 0x7a), { qos: 1 });
    await pub.publishAsync("per/small", "s", { qos: 1 });
    expect((await bigGot).map((m) => [m.topic, m.payload.length])).toEqual([
      ["per/big", 1000],
      ["per/small", 1],
    ]);
    expect((await smallGot).map((m) => m.topic)).toEqual(["per/small"]);
    expect(t.broker.stats.drops["too-large"]).toBe(1);
  });

  it("[MQTT-3.1.2-25] a too-large QoS 1 message does not take a Receive Maximum slot", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, {
      clientId: "small-max-rm",
      properties: { maximumPacketSize: 100, receiveMaximum: 1 },
    });
    await subscribeRaw(sub, "mr/#", 1);
    const pub: MqttClient = await t.connect();
    await pub.publishAsync("mr/big", Buffer.alloc(500), { qos: 1 });
    await pub.publishAsync("mr/a", "a", { qos: 1 });
    await pub.publishAsync("mr/b", "b", { qos: 1 });
    const a = await sub.nextPacket("publish");
    expect(a.topic).toBe("mr/a");
    sub.send({ cmd: "puback", messageId: a.messageId as number });
    const b = await sub.nextPacket("publish");
    expect(b.topic).toBe("mr/b");
  });
});
