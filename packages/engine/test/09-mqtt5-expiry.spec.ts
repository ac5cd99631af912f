import { describe, expect, it } from "vitest";
import { brokerFor } from "./core-util.ts";
import { nextMessages, noMessage } from "./harness.ts";
import { connectRaw, openRaw, type RawClient } from "./raw-client.ts";

/**
 * Message Expiry Interval (MQTT 5.0 §3.3.2.3.3). The broker runs on a clock
 * the test moves by hand, so remaining intervals are exact.
 */

const START = 1_700_000_000_000;

/** A settable clock for the broker's `now` option. */
function manualClock() {
  const clock = { ms: START, now: () => clock.ms, advance: (seconds: number) => (clock.ms += seconds * 1000) };
  return clock;
}

async function subscribeRaw(c: RawClient, filter: string, qos: 0 | 1 | 2, messageId = 1): Promise<void> {
  c.send({ cmd: "subscribe", messageId, subscriptions: [{ topic: filter, qos }] });
  const suback = await c.nextPacket("suback");
  expect(suback.granted).toEqual([qos]);
}

/** Connects `clientId` with a persistent session, subscribes, then disconnects normally. */
async function parkSession(t: Parameters<typeof openRaw>[0], clientId: string, filter: string): Promise<void> {
  const c = await connectRaw(t, 5, { clientId, clean: true, properties: { sessionExpiryInterval: 300 } });
  await subscribeRaw(c, filter, 1);
  c.send({ cmd: "disconnect", reasonCode: 0 });
  await c.closed();
}

async function resume(t: Parameters<typeof openRaw>[0], clientId: string): Promise<RawClient> {
  const c = await openRaw(t, 5);
  const connack = await c.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 300 } });
  expect(connack.reasonCode).toBe(0);
  expect(connack.sessionPresent).toBe(true);
  return c;
}

describe("09 mqtt5 message expiry", () => {
  it("[MQTT-3.3.2-5] a message queued for an offline session and expired before reconnect is not delivered", async (ctx) => {
    const clock = manualClock();
    const t = await brokerFor(ctx, { now: clock.now });
    await parkSession(t, "exp-offline", "exp/#");

    const pub = await t.connect();
    await pub.publishAsync("exp/short", "gone", { qos: 1, properties: { messageExpiryInterval: 5 } });
    await pub.publishAsync("exp/long", "kept", { qos: 1, properties: { messageExpiryInterval: 60 } });
    await pub.publishAsync("exp/none", "forever", { qos: 1 });
    clock.advance(5); // expiresAt == now counts as expired

    const sub = await resume(t, "exp-offline");
    const [a, b] = await sub.nextPackets(2, "publish");
    expect(a?.topic).toBe("exp/long");
    expect(a?.payload.toString()).toBe("kept");
    expect(b?.topic).toBe("exp/none");
    expect(b?.properties?.messageExpiryInterval).toBeUndefined();
    await sub.noPacket(200);
    expect(t.broker.stats.drops.expired).toBe(1);
  });

  it("[MQTT-3.3.2-6] a queued message is delivered with the interval reduced by the time it waited", async (ctx) => {
    const clock = manualClock();
    const t = await brokerFor(ctx, { now: clock.now });
    await parkSession(t, "exp-remaining", "rem/#");

    const pub = await t.connect();
    await pub.publishAsync("rem/a", "a", {
      qos: 1,
      properties: { messageExpiryInterval: 30, contentType: "text/plain" },
    });
    clock.advance(12);

    const sub = await resume(t, "exp-remaining");
    const p = await sub.nextPacket("publish");
    expect(p.topic).toBe("rem/a");
    expect(p.qos).toBe(1);
    expect(p.properties?.messageExpiryInterval).toBe(18);
    // The other properties travel unaltered next to the rewritten interval [MQTT-3.3.2-20].
    expect(p.properties?.contentType).toBe("text/plain");
    sub.send({ cmd: "puback", messageId: p.messageId as number });
    expect(t.broker.stats.drops.expired).toBe(0);
  });

  it("[MQTT-3.3.2-6] a message forwarded at once keeps the interval it was published with", async (ctx) => {
    const clock = manualClock();
    const t = await brokerFor(ctx, { now: clock.now });
    const sub = await t.connect();
    await sub.subscribeAsync("live/#", { qos: 1 });
    const pub = await t.connect();
    const got = nextMessages(sub, 2);
    await pub.publishAsync("live/q0", "x", { qos: 0, properties: { messageExpiryInterval: 42 } });
    await pub.publishAsync("live/q1", "y", { qos: 1, properties: { messageExpiryInterval: 7 } });
    const msgs = await got;
    expect(msgs.map((m) => [m.topic, m.packet.properties?.messageExpiryInterval])).toEqual([
      ["live/q0", 42],
      ["live/q1", 7],
    ]);
  });

  it("[MQTT-3.3.2-5] a message waiting for a free slot in the client's Receive Maximum window expires there", async (ctx) => {
    const clock = manualClock();
    const t = await brokerFor(ctx, { now: clock.now });
    const sub = await connectRaw(t, 5, { clientId: "exp-window", properties: { receiveMaximum: 1 } });
    await subscribeRaw(sub, "win/#", 1);
    const pub = await t.connect();
    await pub.publishAsync("win/1", "first", { qos: 1 });
    await pub.publishAsync("win/2", "short", { qos: 1, properties: { messageExpiryInterval: 2 } });
    await pub.publishAsync("win/3", "long", { qos: 1, properties: { messageExpiryInterval: 10 } });

    const first = await sub.nextPacket("publish");
    expect(first.topic).toBe("win/1");
    await sub.noPacket(150);
    clock.advance(3);
    sub.send({ cmd: "puback", messageId: first.messageId as number });

    const next = await sub.nextPacket("publish");
    expect(next.topic).toBe("win/3");
    expect(next.properties?.messageExpiryInterval).toBe(7);
    sub.send({ cmd: "puback", messageId: next.messageId as number });
    await sub.noPacket(150);
    expect(t.broker.stats.drops.expired).toBe(1);
  });

  it("a retained message is sent to new subscribers with its remaining interval until it expires, then never again", async (ctx) => {
    const clock = manualClock();
    const t = await brokerFor(ctx, { now: clock.now });
    const pub = await t.connect();
    await pub.publishAsync("ret/exp", "short-lived", { qos: 1, retain: true, properties: { messageExpiryInterval: 10 } });
    await pub.publishAsync("ret/keep", "durable", { qos: 1, retain: true });

    clock.advance(4);
    const early = await connectRaw(t, 5, { clientId: "ret-early" });
    early.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "ret/exp", qos: 1 }] });
    await early.nextPacket("suback");
    const r = await early.nextPacket("publish");
    expect(r.retain).toBe(true);
    expect(r.payload.toString()).toBe("short-lived");
    expect(r.properties?.messageExpiryInterval).toBe(6);

    clock.advance(6);
    const late = await connectRaw(t, 5, { clientId: "ret-late" });
    late.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "ret/#", qos: 1 }] });
    await late.nextPacket("suback");
    const only = await late.nextPacket("publish");
    expect(only.topic).toBe("ret/keep");
    expect(only.properties?.messageExpiryInterval).toBeUndefined();
    await late.noPacket(200);
    // The expired message is gone from the store, not just filtered.
    expect(t.broker.retained.get("ret/exp") ?? null).toBeNull();
    expect(t.broker.retained.get("ret/keep")?.payload.toString()).toBe("durable");
  });

  it("a retained message without expiry stays available while an expiring one on the same filter goes", async (ctx) => {
    const clock = manualClock();
    const t = await brokerFor(ctx, { now: clock.now });
    const pub = await t.connect();
    // QoS 1, so the broker has stored both before the clock moves.
    await pub.publishAsync("mix/a", "a", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync("mix/b", "b", { qos: 1, retain: true });
    clock.advance(1);
    const sub = await t.connect();
    const got = nextMessages(sub, 1);
    await sub.subscribeAsync("mix/+", { qos: 0 });
    const [m] = await got;
    expect(m?.topic).toBe("mix/b");
    expect(m?.packet.retain).toBe(true);
    await noMessage(sub, 200);
  });
});
