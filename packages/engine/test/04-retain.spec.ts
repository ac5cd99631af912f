import { describe, expect, it } from "vitest";
import { brokerFor, VERSIONS } from "./core-util.ts";
import { connectRaw, type PacketOf, type RawClient } from "./raw-client.ts";

/**
 * Retained messages (MQTT 3.1.1 §3.3.1.3; MQTT 5.0 §3.3.1.3). Statement
 * numbers differ between the versions; each test cites both where they do.
 */

/** Collects PUBLISH packets until none arrives for `quietMs`, acknowledging QoS 1/2. */
async function drain(c: RawClient, quietMs = 150): Promise<PacketOf<"publish">[]> {
  const got: PacketOf<"publish">[] = [];
  for (;;) {
    let p: PacketOf<"publish">;
    try {
      p = await c.nextPacket("publish", quietMs);
    } catch (err) {
      if (String(err).includes("no publish within")) return got;
      throw err;
    }
    got.push(p);
    await c.ack(p);
  }
}

function summary(packets: PacketOf<"publish">[]): [string, string, number, boolean][] {
  return packets.map((p) => [p.topic, p.payload.toString(), p.qos, p.retain]);
}

describe("04 retain", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-3.3.1-5] a retained message is stored and sent to a new subscriber, after the SUBACK, with RETAIN=1 (3.1.1 [MQTT-3.3.1-8])", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "ret-pub" });
        await pub.publish("r/a", "hello", { qos: 1, retain: true });
        expect(t.broker.retained.size).toBe(1);
        const sub = await connectRaw(t, v, { clientId: "ret-sub" });
        // subscribe() insists the SUBACK comes first.
        expect((await sub.subscribe("r/a", 1)).granted).toEqual([1]);
        const p = await sub.nextPacket("publish");
        expect([p.topic, p.payload.toString(), p.qos, p.retain, p.dup]).toEqual(["r/a", "hello", 1, true, false]);
        await sub.ack(p);
        await sub.noPacket(150);
      });

      it("[MQTT-3.3.1-5] a new retained message replaces the previous one for the topic", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "rep-pub" });
        await pub.publish("r/a", "one", { qos: 1, retain: true });
        await pub.publish("r/a", "two", { qos: 1, retain: true });
        const sub = await connectRaw(t, v, { clientId: "rep-sub" });
        await sub.subscribe("r/a", 1);
        expect(summary(await drain(sub))).toEqual([["r/a", "two", 1, true]]);
      });

      it("[MQTT-3.3.1-7] (3.1.1) a retained QoS 0 message replaces a retained QoS 1 message", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "q0-pub" });
        await pub.publish("r/a", "q1", { qos: 1, retain: true });
        await pub.publish("r/a", "q0", { qos: 0, retain: true });
        const sub = await connectRaw(t, v, { clientId: "q0-sub" });
        await sub.subscribe("r/a", 2);
        expect(summary(await drain(sub))).toEqual([["r/a", "q0", 0, true]]);
      });

      it("[MQTT-3.3.1-8] (3.1.1 [MQTT-3.3.1-12]) a PUBLISH with RETAIN=0 neither stores nor replaces nor removes the retained message", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "nr-pub" });
        await pub.publish("r/a", "kept", { qos: 1, retain: true });
        await pub.publish("r/a", "transient", { qos: 1, retain: false });
        await pub.publish("r/a", "", { qos: 1, retain: false });
        await pub.publish("r/b", "transient", { qos: 1, retain: false });
        const sub = await connectRaw(t, v, { clientId: "nr-sub" });
        await sub.subscribe("r/#", 1);
        expect(summary(await drain(sub))).toEqual([["r/a", "kept", 1, true]]);
      });

      it("[MQTT-3.3.1-6] [MQTT-3.3.1-7] (3.1.1 [MQTT-3.3.1-10] [MQTT-3.3.1-11]) an empty retained payload clears the topic and is itself delivered to current subscribers", async (ctx) => {
        const t = await brokerFor(ctx);
        const live = await connectRaw(t, v, { clientId: "clr-live" });
        await live.subscribe("r/#", 1);
        const pub = await connectRaw(t, v, { clientId: "clr-pub" });
        await pub.publish("r/a", "x", { qos: 1, retain: true });
        await pub.publish("r/a", "", { qos: 1, retain: true });
        // Processed as normal: both reach the established subscriber (RETAIN 0, see below).
        expect(summary(await drain(live))).toEqual([
          ["r/a", "x", 1, false],
          ["r/a", "", 1, false],
        ]);
        // Not stored, and the old one is gone.
        expect(t.broker.retained.size).toBe(0);
        const late = await connectRaw(t, v, { clientId: "clr-late" });
        await late.subscribe("r/#", 1);
        await late.noPacket(200);
        // Clearing a topic that has no retained message is harmless.
        await pub.publish("r/none", "", { qos: 0, retain: true });
        expect(t.broker.retained.size).toBe(0);
      });

      if (v === 4) {
        it("[MQTT-3.3.1-9] (3.1.1) a retained message matching an established subscription is forwarded with RETAIN=0", async (ctx) => {
          const t = await brokerFor(ctx);
          const sub = await connectRaw(t, 4, { clientId: "fwd-sub" });
          await sub.subscribe("f/#", 2);
          const pub = await connectRaw(t, 4, { clientId: "fwd-pub" });
          for (const qos of [0, 1, 2] as const) await pub.publish(`f/${qos}`, "r", { qos, retain: true });
          expect(summary(await drain(sub))).toEqual([
            ["f/0", "r", 0, false],
            ["f/1", "r", 1, false],
            ["f/2", "r", 2, false],
          ]);
        });
      } else {
        it("[MQTT-3.3.1-12] [MQTT-3.3.1-13] v5 Retain As Published: RETAIN forwarded as published only when rap=1", async (ctx) => {
          const t = await brokerFor(ctx);
          const plain = await connectRaw(t, 5, { clientId: "rap0" });
          await plain.subscribe([{ topic: "f/#", qos: 1, rap: false }]);
          const rap = await connectRaw(t, 5, { clientId: "rap1" });
          await rap.subscribe([{ topic: "f/#", qos: 1, rap: true }]);
          const pub = await connectRaw(t, 5, { clientId: "rap-pub" });
          await pub.publish("f/r", "retained", { qos: 1, retain: true });
          await pub.publish("f/n", "normal", { qos: 1, retain: false });
          expect(summary(await drain(plain))).toEqual([
            ["f/r", "retained", 1, false],
            ["f/n", "normal", 1, false],
          ]);
          expect(summary(await drain(rap))).toEqual([
            ["f/r", "retained", 1, true],
            ["f/n", "normal", 1, false],
          ]);
          // On a new subscription the retained message carries RETAIN=1 whatever rap says [MQTT-3.3.1-9].
          const late = await connectRaw(t, 5, { clientId: "rap-late" });
          await late.subscribe([{ topic: "f/#", qos: 1, rap: false }]);
          expect(summary(await drain(late))).toEqual([["f/r", "retained", 1, true]]);
        });
      }

      it("[MQTT-4.7.1-2] [MQTT-4.7.2-1] retained messages are matched by wildcard filters, '$' topics only explicitly", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "wc-pub" });
        for (const topic of ["a", "a/b", "a/c/d", "b/x", "$SYS/r", "$x/b"]) await pub.publish(topic, topic, { qos: 1, retain: true });
        const cases: [string, string[]][] = [
          ["a/#", ["a", "a/b", "a/c/d"]],
          ["a/+", ["a/b"]],
          ["+/x", ["b/x"]],
          ["+/+", ["a/b", "b/x"]],
          ["#", ["a", "a/b", "a/c/d", "b/x"]],
          ["$SYS/#", ["$SYS/r"]],
          ["+/b", ["a/b"]],
          ["$x/+", ["$x/b"]],
          ["nothing/#", []],
        ];
        let n = 0;
        for (const [filter, expected] of cases) {
          const sub = await connectRaw(t, v, { clientId: `wc-sub-${++n}` });
          await sub.subscribe(filter, 1);
          const got = await drain(sub);
          expect([filter, got.map((p) => p.topic).sort()]).toEqual([filter, [...expected].sort()]);
          expect(got.every((p) => p.retain && p.payload.toString() === p.topic)).toBe(true);
        }
      });

      it("[MQTT-3.8.4-6] (3.1.1) retained messages are sent at the minimum of their QoS and the granted QoS", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "rq-pub" });
        for (const qos of [0, 1, 2] as const) await pub.publish(`rq/${qos}`, `q${qos}`, { qos, retain: true });
        for (const subQos of [0, 1, 2] as const) {
          const sub = await connectRaw(t, v, { clientId: `rq-sub-${subQos}` });
          await sub.subscribe("rq/+", subQos);
          const got = (await drain(sub)).sort((a, b) => a.topic.localeCompare(b.topic));
          expect(got.map((p) => [p.topic, p.qos, p.retain])).toEqual([
            ["rq/0", 0, true],
            ["rq/1", Math.min(1, subQos), true],
            ["rq/2", Math.min(2, subQos), true],
          ]);
        }
      });

      it("[MQTT-3.8.4-3] (v5 Retain Handling 0, [MQTT-3.3.1-9]) re-subscribing to an existing filter re-sends the retained messages", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "rs-pub" });
        await pub.publish("rs/a", "again", { qos: 1, retain: true });
        const sub = await connectRaw(t, v, { clientId: "rs-sub" });
        await sub.subscribe("rs/#", 1);
        expect(summary(await drain(sub))).toEqual([["rs/a", "again", 1, true]]);
        await sub.subscribe("rs/#", 1);
        expect(summary(await drain(sub))).toEqual([["rs/a", "again", 1, true]]);
      });

      it("retained messages survive the publisher's disconnect and are per topic", async (ctx) => {
        const t = await brokerFor(ctx);
        const pub = await connectRaw(t, v, { clientId: "gone-pub" });
        await pub.publish("g/1", "one", { qos: 0, retain: true });
        await pub.publish("g/2", "two", { qos: 2, retain: true });
        pub.send(v === 5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
        await pub.closed();
        const sub = await connectRaw(t, v, { clientId: "gone-sub" });
        await sub.subscribe("g/#", 2);
        const got = (await drain(sub)).sort((a, b) => a.topic.localeCompare(b.topic));
        expect(summary(got)).toEqual([
          ["g/1", "one", 0, true],
          ["g/2", "two", 2, true],
        ]);
      });
    });
  }
});
