import { describe, expect, it } from "vitest";
import { brokerFor, delay, VERSIONS, type Version } from "./core-util.ts";
import type { TestBroker } from "./harness.ts";
import { connectRaw, type PacketOf, type RawClient } from "./raw-client.ts";

/** SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK and topic matching (MQTT 3.1.1 §3.8-3.11, §4.7; MQTT 5.0 same sections). */

const MARK = "zz-end-marker";
let seq = 0;

/** Collects PUBLISH packets until the end marker arrives (the marker is not included). */
async function collectUntilMarker(sub: RawClient): Promise<PacketOf<"publish">[]> {
  const got: PacketOf<"publish">[] = [];
  for (;;) {
    const p = await sub.nextPacket("publish");
    if (p.topic === MARK) return got;
    got.push(p);
  }
}

/**
 * Subscribes a fresh client to `filter`, publishes each topic (QoS 0, in
 * order, from one publisher), and returns the topics the subscriber got.
 */
async function matchedTopics(t: TestBroker, v: Version, filter: string, topics: string[]): Promise<string[]> {
  const sub = await connectRaw(t, v, { clientId: `match-sub-${++seq}` });
  const suback = await sub.subscribe([
    { topic: filter, qos: 0 },
    { topic: MARK, qos: 0 },
  ]);
  expect(suback.granted).toEqual([0, 0]);
  const pub = await connectRaw(t, v, { clientId: `match-pub-${seq}` });
  for (const topic of topics) await pub.publish(topic, `to ${topic}`);
  await pub.publish(MARK, "");
  const got = await collectUntilMarker(sub);
  return got.map((p) => p.topic);
}


describe("02 subscribe", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-4.7.1-3] '+' matches exactly one topic level, including an empty one", async (ctx) => {
        const t = await brokerFor(ctx);
        expect(await matchedTopics(t, v, "a/+/c", ["a/b/c", "a/c", "a/b/d/c", "a//c", "a/b/c/d", "b/b/c", "a/b/c/"])).toEqual([
          "a/b/c",
          "a//c",
        ]);
      });

      it("[MQTT-4.7.1-3] '+' and leading '/': '+/+' and '/+' match '/finance', '+' does not", async (ctx) => {
        const t = await brokerFor(ctx);
        expect(await matchedTopics(t, v, "+/+", ["/finance", "finance", "a/b", "a/b/c"])).toEqual(["/finance", "a/b"]);
        expect(await matchedTopics(t, v, "/+", ["/finance", "finance", "//x"])).toEqual(["/finance"]);
        expect(await matchedTopics(t, v, "+", ["/finance", "finance", "a/b"])).toEqual(["finance"]);
      });

      it("[MQTT-4.7.1-2] '#' matches the parent level and any number of child levels", async (ctx) => {
        const t = await brokerFor(ctx);
        const topics = ["sport/tennis", "sport/tennis/p1", "sport/tennis/p1/ranking", "sport/tennisX", "sport", "sport/tennis/"];
        expect(await matchedTopics(t, v, "sport/tennis/#", topics)).toEqual([
          "sport/tennis",
          "sport/tennis/p1",
          "sport/tennis/p1/ranking",
          "sport/tennis/",
        ]);
        expect(await matchedTopics(t, v, "sport/+/#", topics)).toEqual([
          "sport/tennis",
          "sport/tennis/p1",
          "sport/tennis/p1/ranking",
          "sport/tennisX",
          "sport/tennis/",
        ]);
      });

      it("[MQTT-4.7.3-4] topic matching is case sensitive and literal (no normalisation)", async (ctx) => {
        const t = await brokerFor(ctx);
        expect(await matchedTopics(t, v, "Accounts/+", ["Accounts/x", "ACCOUNTS/x", "accounts/x", "Accounts /x", " Accounts/x"])).toEqual([
          "Accounts/x",
        ]);
      });

      it("[MQTT-4.7.2-1] topics starting with '$' are not matched by filters starting with '#' or '+'", async (ctx) => {
        const t = await brokerFor(ctx);
        const topics = ["$SYS/monitor/Clients", "$private", "$x/y", "normal/topic", "x$/y"];
        // MARK itself matches '#'.
        expect(await matchedTopics(t, v, "#", topics)).toEqual(["normal/topic", "x$/y"]);
        expect(await matchedTopics(t, v, "+/monitor/Clients", topics)).toEqual([]);
        expect(await matchedTopics(t, v, "+/+", topics)).toEqual(["normal/topic", "x$/y"]);
        // Explicit '$' filters do match.
        expect(await matchedTopics(t, v, "$SYS/#", topics)).toEqual(["$SYS/monitor/Clients"]);
        expect(await matchedTopics(t, v, "$SYS/monitor/+", topics)).toEqual(["$SYS/monitor/Clients"]);
        expect(await matchedTopics(t, v, "$x/+", topics)).toEqual(["$x/y"]);
      });

      it(`[MQTT-4.7.1-2] [MQTT-4.7.1-3] invalid filters get SUBACK ${v === 5 ? "0x8F" : "0x80"} while valid ones in the same SUBSCRIBE are granted`, async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "invalid-filters" });
        const bad = v === 5 ? 0x8f : 0x80;
        const suback = await sub.subscribe([
          { topic: "a/#/b", qos: 1 },
          { topic: "ok/+", qos: 1 },
          { topic: "a+", qos: 0 },
          { topic: "#a", qos: 0 },
          { topic: "a/b#", qos: 0 },
          { topic: "+a/b", qos: 0 },
          { topic: "a/+b", qos: 2 },
          { topic: "also/ok/#", qos: 2 },
          // Zero-length filters are not allowed [MQTT-4.7.3-1].
          { topic: "", qos: 0 },
        ]);
        expect(suback.granted).toEqual([bad, 1, bad, bad, bad, bad, bad, 2, bad]);
        // Only the valid filters were stored.
        expect(t.broker.stats.subscriptions).toBe(2);
        const pub = await connectRaw(t, v, { clientId: "invalid-filters-pub" });
        await pub.publish("ok/x", "1", { qos: 1 });
        const p = await sub.nextPacket("publish");
        expect([p.topic, p.qos]).toEqual(["ok/x", 1]);
        await sub.ack(p);
      });

      it("[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.9.3-1] SUBACK echoes the packet id and has one code per filter in order", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "order" });
        sub.send({
          cmd: "subscribe",
          messageId: 4242,
          subscriptions: [
            { topic: "q/2", qos: 2 },
            { topic: "q/0", qos: 0 },
            { topic: "q/1", qos: 1 },
          ],
        });
        const suback = await sub.nextPacket("suback");
        expect(suback.messageId).toBe(4242);
        expect(suback.granted).toEqual([2, 0, 1]);
      });

      it("[MQTT-3.8.4-5] the server may grant a lower QoS than requested (maximumQoS 1)", async (ctx) => {
        const t = await brokerFor(ctx, { maximumQoS: 1 });
        const sub = await connectRaw(t, v, { clientId: "lower" });
        const suback = await sub.subscribe([
          { topic: "q/2", qos: 2 },
          { topic: "q/0", qos: 0 },
          { topic: "q/1", qos: 1 },
        ]);
        expect(suback.granted).toEqual([1, 0, 1]);
      });

      it("[MQTT-3.8.4-3] a SUBSCRIBE for an existing filter replaces the subscription (no duplicate delivery)", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "resub" });
        expect((await sub.subscribe("r/x", 2)).granted).toEqual([2]);
        expect((await sub.subscribe("r/x", 0)).granted).toEqual([0]);
        expect(t.broker.stats.subscriptions).toBe(1);
        const pub = await connectRaw(t, v, { clientId: "resub-pub" });
        await pub.publish("r/x", "once", { qos: 2 });
        const p = await sub.nextPacket("publish");
        expect([p.topic, p.payload.toString(), p.qos]).toEqual(["r/x", "once", 0]);
        await sub.noPacket(200);
      });

      it("[MQTT-3.10.4-1] [MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBSCRIBE removes exactly the named filter and is always acknowledged", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "unsub" });
        await sub.subscribe([
          { topic: "u/a", qos: 1 },
          { topic: "u/+", qos: 0 },
          { topic: "keep/#", qos: 0 },
        ]);
        sub.send({ cmd: "unsubscribe", messageId: 777, unsubscriptions: ["u/a", "never/subscribed", "u/#"] });
        const unsuback = await sub.nextPacket("unsuback");
        expect(unsuback.messageId).toBe(777);
        if (v === 5) {
          // One reason code per filter: Success, No subscription existed [MQTT-3.11.3-1].
          expect(unsuback.granted).toEqual([0x00, 0x11, 0x11]);
        } else {
          // v3.1.1 UNSUBACK has no payload.
          expect(unsuback.length).toBe(2);
        }
        expect(t.broker.stats.subscriptions).toBe(2);
        const pub = await connectRaw(t, v, { clientId: "unsub-pub" });
        // 'u/a' is gone, but 'u/+' (compared character by character, not by matching) still delivers.
        await pub.publish("u/a", "via plus", { qos: 1 });
        const p = await sub.nextPacket("publish");
        expect([p.topic, p.qos]).toEqual(["u/a", 0]);
        await sub.noPacket(150);
        expect((await sub.unsubscribe("u/+")).messageId).toBeGreaterThan(0);
        await pub.publish("u/a", "nobody", { qos: 1 });
        await pub.publish("keep/x", "still", { qos: 0 });
        const k = await sub.nextPacket("publish");
        expect([k.topic, k.payload.toString()]).toEqual(["keep/x", "still"]);
      });

      it("[MQTT-3.3.5-1] [MQTT-3.3.4-2] overlapping subscriptions: one delivery at the maximum granted QoS", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "overlap" });
        if (v === 5) {
          await sub.subscribe([{ topic: "o/+", qos: 0 }], 0, { subscriptionIdentifier: 1 });
          await sub.subscribe([{ topic: "o/#", qos: 2 }], 0, { subscriptionIdentifier: 2 });
          await sub.subscribe([{ topic: "o/b", qos: 1 }]);
        } else {
          await sub.subscribe("o/+", 0);
          await sub.subscribe("o/#", 2);
          await sub.subscribe("o/b", 1);
        }
        const pub = await connectRaw(t, v, { clientId: "overlap-pub" });
        await pub.publish("o/b", "x", { qos: 2 });
        const p = await sub.nextPacket("publish");
        expect([p.topic, p.payload.toString(), p.qos]).toEqual(["o/b", "x", 2]);
        if (v === 5) {
          // All matching subscription identifiers in the one copy, order not significant [MQTT-3.3.4-3] [MQTT-3.3.4-4].
          const ids = p.properties?.subscriptionIdentifier;
          expect(Array.isArray(ids) ? [...ids].sort() : ids).toEqual([1, 2]);
        } else {
          expect(p.properties).toBeUndefined();
        }
        await sub.ack(p);
        await sub.noPacket(200);
        // A topic matched by one subscription only: that one's QoS (and identifier).
        await pub.publish("o/c/d", "y", { qos: 2 });
        const q = await sub.nextPacket("publish");
        expect([q.topic, q.qos]).toEqual(["o/c/d", 2]);
        if (v === 5) expect(q.properties?.subscriptionIdentifier).toBe(2);
        await sub.ack(q);
        await pub.publish("o/c", "z", { qos: 2 });
        const r = await sub.nextPacket("publish");
        expect([r.topic, r.qos]).toEqual(["o/c", 2]);
        if (v === 5) {
          const ids = r.properties?.subscriptionIdentifier;
          expect(Array.isArray(ids) ? [...ids].sort() : ids).toEqual([1, 2]);
        }
      });

      it(`authorizeSubscribe: denial gives SUBACK ${v === 5 ? "0x87" : "0x80"}, a lower QoS is a downgrade`, async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: {
            authorizeSubscribe: (_c, filter, qos) => (filter.startsWith("secret") ? 0x87 : filter.startsWith("limited") ? Math.min(qos, 1) : qos),
          },
        });
        const sub = await connectRaw(t, v, { clientId: "acl" });
        const suback = await sub.subscribe([
          { topic: "secret/#", qos: 2 },
          { topic: "limited/#", qos: 2 },
          { topic: "open/#", qos: 2 },
        ]);
        expect(suback.granted).toEqual([v === 5 ? 0x87 : 0x80, 1, 2]);
        expect(t.broker.stats.authorizationDenials).toBe(1);
        const pub = await connectRaw(t, v, { clientId: "acl-pub" });
        await pub.publish("secret/x", "s", { qos: 2 });
        await pub.publish("limited/x", "l", { qos: 2 });
        await pub.publish("open/x", "o", { qos: 2 });
        const l = await sub.nextPacket("publish");
        expect([l.topic, l.qos]).toEqual(["limited/x", 1]);
        await sub.ack(l);
        const o = await sub.nextPacket("publish");
        expect([o.topic, o.qos]).toEqual(["open/x", 2]);
        await sub.ack(o);
        await sub.noPacket(150);
      });

      it("authorizeSubscribe: an asynchronous hook keeps SUBACK order and packets behind it wait", async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: {
            authorizeSubscribe: async (_c, filter, qos) => {
              await delay(filter === "slow" ? 60 : 5);
              return filter === "deny" ? 0x87 : qos;
            },
          },
        });
        const sub = await connectRaw(t, v, { clientId: "acl-async" });
        sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "slow", qos: 1 }] });
        sub.send({ cmd: "subscribe", messageId: 2, subscriptions: [{ topic: "deny", qos: 1 }, { topic: "fast", qos: 2 }] });
        sub.send({ cmd: "pingreq" });
        const first = await sub.nextPacket("suback");
        const second = await sub.nextPacket("suback");
        await sub.nextPacket("pingresp");
        expect([first.messageId, first.granted]).toEqual([1, [1]]);
        expect([second.messageId, second.granted]).toEqual([2, [v === 5 ? 0x87 : 0x80, 2]]);
      });
    });
  }
});
