import { describe, expect, it } from "vitest";
import { brokerFor } from "./core-util.ts";
import { nextMessages, noMessage } from "./harness.ts";
import { connectRaw, frame, mqttString, openRaw, varint, type PacketOf, type RawClient } from "./raw-client.ts";

/** Subscription identifiers (§3.8.2.1.2, §3.3.4) and subscription options (§3.8.3.1). */

type Subscription = PacketOf<"subscribe">["subscriptions"][number];

async function subscribe(
  c: RawClient,
  subscriptions: Subscription[],
  properties?: PacketOf<"subscribe">["properties"],
  messageId = 1,
): Promise<number[]> {
  const packet: PacketOf<"subscribe"> = { cmd: "subscribe", messageId, subscriptions };
  if (properties) packet.properties = properties;
  c.send(packet);
  const suback = await c.nextPacket("suback");
  expect(suback.messageId).toBe(messageId);
  return suback.granted as number[];
}

function ids(p: PacketOf<"publish">): number[] | undefined {
  const id = p.properties?.subscriptionIdentifier;
  if (id === undefined) return undefined;
  return (Array.isArray(id) ? [...id] : [id]).sort((a, b) => a - b);
}

function pub(topic: string, payload: string, qos: 0 | 1 | 2, retain = false, messageId?: number): PacketOf<"publish"> {
  const p: PacketOf<"publish"> = { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain, dup: false };
  if (messageId !== undefined) p.messageId = messageId;
  return p;
}

describe("11 subscription identifiers", () => {
  it("[MQTT-3.3.4-3] the identifier given at SUBSCRIBE comes back on each delivery", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "sid" });
    expect(await subscribe(sub, [{ topic: "sid/+", qos: 1 }], { subscriptionIdentifier: 42 })).toEqual([1]);
    expect(await subscribe(sub, [{ topic: "other/#", qos: 0 }], undefined, 2)).toEqual([0]);
    const p = await t.connect();
    await p.publishAsync("sid/a", "1", { qos: 1 });
    await p.publishAsync("other/b", "2", { qos: 0 });
    const [a, b] = await sub.nextPackets(2, "publish");
    expect(a?.topic).toBe("sid/a");
    expect(ids(a as PacketOf<"publish">)).toEqual([42]);
    // A subscription made without an identifier delivers none.
    expect(b?.topic).toBe("other/b");
    expect(ids(b as PacketOf<"publish">)).toBeUndefined();
  });

  it("a large identifier (multi-byte variable byte integer) round-trips", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "sid-big" });
    await subscribe(sub, [{ topic: "big/id", qos: 0 }], { subscriptionIdentifier: 268_435_455 });
    const p = await t.connect();
    await p.publishAsync("big/id", "x", { qos: 1 });
    expect(ids(await sub.nextPacket("publish"))).toEqual([268_435_455]);
  });

  it("[MQTT-3.3.4-4] two overlapping subscriptions give one delivery carrying both identifiers, at the highest QoS [MQTT-3.3.4-2]", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "sid-overlap" });
    await subscribe(sub, [{ topic: "ov/+", qos: 0 }], { subscriptionIdentifier: 1 }, 1);
    await subscribe(sub, [{ topic: "ov/#", qos: 1 }], { subscriptionIdentifier: 2 }, 2);
    await subscribe(sub, [{ topic: "ov/x", qos: 0 }], undefined, 3);
    const p = await t.connect();
    await p.publishAsync("ov/x", "once", { qos: 1 });
    const got = await sub.nextPacket("publish");
    expect(got.payload.toString()).toBe("once");
    expect(got.qos).toBe(1);
    expect(ids(got)).toEqual([1, 2]);
    await sub.noPacket(200);
  });

  it("re-subscribing replaces the identifier; re-subscribing without one removes it", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "sid-replace" });
    const p = await t.connect();
    await subscribe(sub, [{ topic: "rp/t", qos: 0 }], { subscriptionIdentifier: 5 }, 1);
    await subscribe(sub, [{ topic: "rp/t", qos: 0 }], { subscriptionIdentifier: 6 }, 2);
    await p.publishAsync("rp/t", "a", { qos: 1 });
    expect(ids(await sub.nextPacket("publish"))).toEqual([6]);
    await subscribe(sub, [{ topic: "rp/t", qos: 0 }], undefined, 3);
    await p.publishAsync("rp/t", "b", { qos: 1 });
    expect(ids(await sub.nextPacket("publish"))).toBeUndefined();
  });

  it("the identifier is also sent with retained messages delivered on subscribe", async (ctx) => {
    const t = await brokerFor(ctx);
    const p = await t.connect();
    await p.publishAsync("rid/t", "kept", { qos: 1, retain: true });
    const sub = await connectRaw(t, 5, { clientId: "sid-ret" });
    await subscribe(sub, [{ topic: "rid/#", qos: 1 }], { subscriptionIdentifier: 77 });
    const r = await sub.nextPacket("publish");
    expect(r.retain).toBe(true);
    expect(ids(r)).toEqual([77]);
  });

  it("§3.8.2.1.2: a Subscription Identifier of 0 is a protocol error -> DISCONNECT 0x82", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "sid-zero" });
    // SUBSCRIBE id 1, properties { 0x0B: 0 }, "z/t" options QoS 0 (built by hand: the codec would refuse).
    sub.write(frame(0x82, [0x00, 0x01], varint(2), [0x0b, 0x00], mqttString("z/t"), [0x00]));
    const d = await sub.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x82);
    await sub.closed();
  });

  it("§3.8.2.1.2: a Subscription Identifier given twice is a protocol error -> DISCONNECT 0x82", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "sid-twice" });
    sub.write(frame(0x82, [0x00, 0x01], varint(4), [0x0b, 0x01, 0x0b, 0x02], mqttString("z/t"), [0x00]));
    const d = await sub.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x82);
    await sub.closed();
  });

  it("subscriptionIdentifiersAvailable=false: advertised in CONNACK; a SUBSCRIBE with an identifier -> DISCONNECT 0xA1", async (ctx) => {
    const t = await brokerFor(ctx, { subscriptionIdentifiersAvailable: false });
    const sub = await openRaw(t, 5);
    const connack = await sub.connect({ clientId: "sid-off" });
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBe(false);
    // Without an identifier, subscribing still works.
    expect(await subscribe(sub, [{ topic: "off/t", qos: 1 }])).toEqual([1]);
    sub.send({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "off/u", qos: 1 }], properties: { subscriptionIdentifier: 3 } });
    const d = await sub.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0xa1);
    await sub.closed();
  });
});

describe("11 no local", () => {
  it("[MQTT-3.8.3-3] with No Local a client does not receive its own publications, others still do", async (ctx) => {
    const t = await brokerFor(ctx);
    const self = await connectRaw(t, 5, { clientId: "nl-self" });
    await subscribe(self, [{ topic: "nl/#", qos: 1, nl: true }]);
    const other = await t.connect();
    await other.subscribeAsync("nl/#", { qos: 1 });
    const otherGot = nextMessages(other, 1);

    self.send(pub("nl/mine", "own", 1, false, 1));
    const ack = await self.nextPacket("puback");
    expect(ack.messageId).toBe(1);
    expect((await otherGot)[0]?.payload.toString()).toBe("own");
    await self.noPacket(200);

    // A publication by another client still reaches it.
    await other.publishAsync("nl/theirs", "theirs", { qos: 1 });
    const p = await self.nextPacket("publish");
    expect(p.topic).toBe("nl/theirs");
  });

  it("[MQTT-3.8.3-3] No Local on one of two overlapping subscriptions: the other still delivers, with only its identifier", async (ctx) => {
    const t = await brokerFor(ctx);
    const self = await connectRaw(t, 5, { clientId: "nl-overlap" });
    await subscribe(self, [{ topic: "nlo/+", qos: 1, nl: true }], { subscriptionIdentifier: 1 }, 1);
    await subscribe(self, [{ topic: "nlo/#", qos: 0 }], { subscriptionIdentifier: 2 }, 2);
    self.send(pub("nlo/x", "loop", 1, false, 9));
    // The PUBACK and the delivery to itself may come in either order.
    const two = await self.nextPackets(2);
    const ack = two.find((x) => x.cmd === "puback");
    expect(ack?.messageId).toBe(9);
    const p = two.find((x): x is PacketOf<"publish"> => x.cmd === "publish") as PacketOf<"publish">;
    expect(p.payload.toString()).toBe("loop");
    expect(p.qos).toBe(0);
    expect(ids(p)).toEqual([2]);
    await self.noPacket(150);
  });

  it("without No Local a client receives its own publications", async (ctx) => {
    const t = await brokerFor(ctx);
    const self = await t.connect();
    await self.subscribeAsync("echo/#", { qos: 1, nl: false });
    const got = nextMessages(self, 1);
    await self.publishAsync("echo/x", "back", { qos: 1 });
    expect((await got)[0]?.payload.toString()).toBe("back");
  });
});

describe("11 retain as published", () => {
  it("[MQTT-3.3.1-12] RAP=0: live messages are forwarded with RETAIN=0 even if published retained", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rap0" });
    await subscribe(sub, [{ topic: "rap/#", qos: 1, rap: false }]);
    const p = await t.connect();
    await p.publishAsync("rap/x", "r", { qos: 1, retain: true });
    await p.publishAsync("rap/y", "n", { qos: 1, retain: false });
    const got = await sub.nextPackets(2, "publish");
    expect(got.map((m) => [m.topic, m.retain])).toEqual([
      ["rap/x", false],
      ["rap/y", false],
    ]);
  });

  it("[MQTT-3.3.1-13] RAP=1: live messages keep the RETAIN flag they were published with", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rap1" });
    await subscribe(sub, [{ topic: "rap/#", qos: 1, rap: true }]);
    const p = await t.connect();
    await p.publishAsync("rap/x", "r", { qos: 1, retain: true });
    await p.publishAsync("rap/y", "n", { qos: 1, retain: false });
    const got = await sub.nextPackets(2, "publish");
    expect(got.map((m) => [m.topic, m.retain])).toEqual([
      ["rap/x", true],
      ["rap/y", false],
    ]);
  });

  it("[MQTT-3.3.1-13] RAP on one of two overlapping subscriptions is enough to keep RETAIN=1", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rap-mix" });
    await subscribe(sub, [{ topic: "rm/+", qos: 0, rap: false }], undefined, 1);
    await subscribe(sub, [{ topic: "rm/#", qos: 0, rap: true }], undefined, 2);
    const p = await t.connect();
    await p.publishAsync("rm/x", "r", { qos: 1, retain: true });
    expect((await sub.nextPacket("publish")).retain).toBe(true);
  });

  it("[MQTT-3.3.1-9] retained messages sent because of a new subscription carry RETAIN=1 whatever RAP says", async (ctx) => {
    const t = await brokerFor(ctx);
    const p = await t.connect();
    await p.publishAsync("rs/x", "stored", { qos: 1, retain: true });
    const sub = await connectRaw(t, 5, { clientId: "rap-stored" });
    await subscribe(sub, [{ topic: "rs/#", qos: 1, rap: false }]);
    const r = await sub.nextPacket("publish");
    expect([r.topic, r.retain, r.payload.toString()]).toEqual(["rs/x", true, "stored"]);
  });
});

describe("11 retain handling", () => {
  async function setup(ctx: Parameters<typeof brokerFor>[0]) {
    const t = await brokerFor(ctx);
    const p = await t.connect();
    await p.publishAsync("rh/a", "A", { qos: 1, retain: true });
    await p.publishAsync("rh/b", "B", { qos: 1, retain: true });
    return t;
  }

  it("[MQTT-3.3.1-9] RH=0: retained messages are sent on every SUBSCRIBE, also when the subscription exists", async (ctx) => {
    const t = await setup(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rh0" });
    await subscribe(sub, [{ topic: "rh/+", qos: 1, rh: 0 }], undefined, 1);
    expect((await sub.nextPackets(2, "publish")).map((m) => m.topic).sort()).toEqual(["rh/a", "rh/b"]);
    for (const m of sub.received.filter((x) => x.cmd === "publish")) sub.send({ cmd: "puback", messageId: m.messageId as number });
    await subscribe(sub, [{ topic: "rh/+", qos: 1, rh: 0 }], undefined, 2);
    expect((await sub.nextPackets(2, "publish")).map((m) => m.topic).sort()).toEqual(["rh/a", "rh/b"]);
  });

  it("[MQTT-3.3.1-10] RH=1: retained messages are sent only if the subscription did not exist", async (ctx) => {
    const t = await setup(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rh1" });
    await subscribe(sub, [{ topic: "rh/+", qos: 0, rh: 1 }], undefined, 1);
    expect((await sub.nextPackets(2, "publish")).map((m) => m.topic).sort()).toEqual(["rh/a", "rh/b"]);
    await subscribe(sub, [{ topic: "rh/+", qos: 0, rh: 1 }], undefined, 2);
    await sub.noPacket(200);
    // A different filter is a new subscription.
    await subscribe(sub, [{ topic: "rh/a", qos: 0, rh: 1 }], undefined, 3);
    const again = await sub.nextPacket("publish");
    expect([again.topic, again.retain]).toEqual(["rh/a", true]);
  });

  it("[MQTT-3.3.1-11] RH=2: retained messages are never sent at subscribe, live messages still are", async (ctx) => {
    const t = await setup(ctx);
    const sub = await connectRaw(t, 5, { clientId: "rh2" });
    await subscribe(sub, [{ topic: "rh/+", qos: 0, rh: 2 }]);
    await sub.noPacket(200);
    const p = await t.connect();
    await p.publishAsync("rh/a", "live", { qos: 1 });
    const live = await sub.nextPacket("publish");
    expect([live.topic, live.payload.toString(), live.retain]).toEqual(["rh/a", "live", false]);
  });

  it("MQTT.js: rh=2 on subscribe delivers no retained messages", async (ctx) => {
    const t = await setup(ctx);
    const sub = await t.connect();
    await sub.subscribeAsync("rh/#", { qos: 1, rh: 2 });
    await noMessage(sub, 200);
  });
});

describe("11 server capabilities", () => {
  it("wildcardSubscriptionAvailable=false: advertised in CONNACK; wildcard filters get SUBACK 0xA2, plain filters are granted", async (ctx) => {
    const t = await brokerFor(ctx, { wildcardSubscriptionAvailable: false });
    const sub = await openRaw(t, 5);
    const connack = await sub.connect({ clientId: "wc-off" });
    expect(connack.properties?.wildcardSubscriptionAvailable).toBe(false);
    const granted = await subscribe(sub, [
      { topic: "wc/+", qos: 1 },
      { topic: "wc/plain", qos: 1 },
      { topic: "#", qos: 0 },
    ]);
    expect(granted).toEqual([0xa2, 1, 0xa2]);
    const p = await t.connect();
    await p.publishAsync("wc/plain", "p", { qos: 1 });
    await p.publishAsync("wc/other", "o", { qos: 1 });
    const got = await sub.nextPacket("publish");
    expect(got.topic).toBe("wc/plain");
    await sub.noPacket(150);
  });

  it("[MQTT-3.8.3-5] reserved bits in the subscription options are a malformed packet -> DISCONNECT 0x81", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "opt-bits" });
    sub.write(frame(0x82, [0x00, 0x01], varint(0), mqttString("x/y"), [0xc0]));
    const d = await sub.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x81);
    await sub.closed();
  });

  it("Retain Handling 3 is a malformed packet -> DISCONNECT 0x81", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "opt-rh3" });
    sub.write(frame(0x82, [0x00, 0x01], varint(0), mqttString("x/y"), [0x30]));
    const d = await sub.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x81);
    await sub.closed();
  });
});
