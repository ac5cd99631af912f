import { describe, expect, it } from "vitest";
import { brokerFor, delay, VERSIONS } from "./core-util.ts";
import { nextMessages } from "./harness.ts";
import { connectRaw, type PacketOf } from "./raw-client.ts";

/** PUBLISH and the QoS 0/1/2 flows, both directions (MQTT 3.1.1 §3.3-3.7, §4.3, §4.6; MQTT 5.0 same sections). */


const QOS = [0, 1, 2] as const;

describe("03 publish and QoS", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-3.8.4-6] every publish/subscribe QoS pair is delivered at the minimum of the two", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "matrix-sub" });
        const suback = await sub.subscribe(QOS.map((q) => ({ topic: `m/${q}`, qos: q })));
        expect(suback.granted).toEqual([0, 1, 2]);
        const pub = await connectRaw(t, v, { clientId: "matrix-pub" });
        const seen: [string, number, boolean, boolean][] = [];
        for (const subQos of QOS) {
          for (const pubQos of QOS) {
            const acks = await pub.publish(`m/${subQos}`, `p${pubQos}`, { qos: pubQos });
            // Publisher side: PUBACK for QoS 1 [MQTT-4.3.2-2]; PUBREC then PUBCOMP for QoS 2 [MQTT-4.3.3-2].
            expect(acks.map((a) => a.cmd)).toEqual([[], ["puback"], ["pubrec", "pubcomp"]][pubQos]);
            const p = await sub.nextPacket("publish");
            seen.push([`${p.topic}:${p.payload.toString()}`, p.qos, p.messageId !== undefined, p.dup]);
            await sub.ack(p);
          }
        }
        expect(seen).toEqual(
          QOS.flatMap((subQos) =>
            QOS.map((pubQos) => {
              const q = Math.min(subQos, pubQos);
              // A packet identifier only for QoS > 0 [MQTT-2.3.1-5]; DUP 0 on a first delivery [MQTT-3.3.1-2].
              return [`m/${subQos}:p${pubQos}`, q, q > 0, false];
            }),
          ),
        );
        await sub.noPacket(100);
      });

      it("[MQTT-4.3.2-1] [MQTT-4.3.3-1] outgoing QoS 1 and QoS 2 flows: the server answers PUBREC with PUBREL for the same id", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "flow-sub" });
        await sub.subscribe("f/#", 2);
        const pub = await connectRaw(t, v, { clientId: "flow-pub" });
        await pub.publish("f/1", "one", { qos: 1 });
        await pub.publish("f/2", "two", { qos: 2 });
        const one = await sub.nextPacket("publish");
        const two = await sub.nextPacket("publish");
        expect([one.qos, two.qos]).toEqual([1, 2]);
        expect(one.messageId).not.toBe(two.messageId);
        // Ids are non-zero [MQTT-2.3.1-1].
        expect(one.messageId).toBeGreaterThan(0);
        expect(two.messageId).toBeGreaterThan(0);
        sub.send({ cmd: "puback", messageId: one.messageId as number });
        sub.send({ cmd: "pubrec", messageId: two.messageId as number });
        const pubrel = await sub.nextPacket("pubrel");
        expect(pubrel.messageId).toBe(two.messageId);
        sub.send({ cmd: "pubcomp", messageId: two.messageId as number });
        await sub.noPacket(150);
        // Both flows are complete: nothing left in flight.
        const session = t.broker.sessions.get("flow-sub");
        expect(session?.inflight.size).toBe(0);
      });

      it(`[MQTT-3.3.2-2] a PUBLISH whose topic name contains a wildcard closes the connection${v === 5 ? " (DISCONNECT 0x90)" : ""}`, async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "wild-sub" });
        await sub.subscribe("#", 0);
        for (const topic of ["a/+", "a/#", "+"]) {
          const c = await connectRaw(t, v, { clientId: "wild-pub" });
          await c.publish(topic, "x", { qos: 0 });
          if (v === 5) expect((await c.nextPacket("disconnect")).reasonCode).toBe(0x90);
          await c.closed();
        }
        await sub.noPacket(150);
      });

      it(`[MQTT-4.7.3-1] a PUBLISH with an empty topic name (and no topic alias) closes the connection${v === 5 ? " (DISCONNECT 0x82)" : ""}`, async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "empty-topic" });
        // QoS 0 PUBLISH, topic "" (v5: then an empty property block), payload "x"; built by hand.
        c.write(v === 5 ? [0x30, 0x04, 0x00, 0x00, 0x00, 0x78] : [0x30, 0x03, 0x00, 0x00, 0x78]);
        if (v === 5) expect((await c.nextPacket("disconnect")).reasonCode).toBe(0x82);
        await c.closed();
        expect(c.received.map((p) => p.cmd)).toEqual(v === 5 ? ["connack", "disconnect"] : ["connack"]);
      });

      it("[MQTT-3.3.1-3] DUP of an incoming PUBLISH is not propagated to subscribers", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "dup-sub" });
        await sub.subscribe("d", 1);
        const pub = await connectRaw(t, v, { clientId: "dup-pub" });
        await pub.publish("d", "retry", { qos: 1, dup: true });
        const p = await sub.nextPacket("publish");
        expect([p.payload.toString(), p.qos, p.dup]).toEqual(["retry", 1, false]);
      });

      it("§3.3.3 binary, empty and large payloads are delivered unaltered", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "bin-sub" });
        await sub.subscribe("bin", 1);
        const pub = await connectRaw(t, v, { clientId: "bin-pub" });
        const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const big = Buffer.alloc(200_000, 0xab);
        await pub.publish("bin", all, { qos: 1 });
        await pub.publish("bin", Buffer.alloc(0), { qos: 1 });
        await pub.publish("bin", big, { qos: 1 });
        const [a, b, c] = await sub.nextPackets(3, "publish");
        expect(Buffer.compare(a?.payload as Buffer, all)).toBe(0);
        expect(b?.payload.length).toBe(0);
        expect(Buffer.compare(c?.payload as Buffer, big)).toBe(0);
      });

      it("[MQTT-4.6.0-5] (v5 [MQTT-4.6.0-6]) 1000 QoS 1 messages on one topic arrive in publish order", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await t.connect({ protocolVersion: v, clientId: "order-sub" });
        await sub.subscribeAsync("ordered", { qos: 1 });
        const pub = await t.connect({ protocolVersion: v, clientId: "order-pub" });
        const got = nextMessages(sub, 1000, 10_000);
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < 1000; i++) sends.push(pub.publishAsync("ordered", String(i), { qos: 1 }));
        await Promise.all(sends);
        const msgs = await got;
        expect(msgs.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
        expect(msgs.every((m) => m.packet.qos === 1)).toBe(true);
      });

      it("[MQTT-4.3.3-10] (v3.1.1 [MQTT-4.3.3-2]) a QoS 2 PUBLISH re-sent with DUP before PUBREL is delivered once", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "eo-sub" });
        await sub.subscribe("eo", 2);
        const pub = await connectRaw(t, v, { clientId: "eo-pub" });
        const publish: PacketOf<"publish"> = { cmd: "publish", topic: "eo", payload: Buffer.from("once"), qos: 2, retain: false, dup: false, messageId: 7 };
        pub.send(publish);
        expect((await pub.nextPacket("pubrec")).messageId).toBe(7);
        pub.send({ ...publish, dup: true });
        // Acknowledged again with PUBREC, not routed again.
        expect((await pub.nextPacket("pubrec")).messageId).toBe(7);
        pub.send({ ...publish, dup: true });
        expect((await pub.nextPacket("pubrec")).messageId).toBe(7);
        pub.send({ cmd: "pubrel", messageId: 7 });
        const pubcomp = await pub.nextPacket("pubcomp");
        expect(pubcomp.messageId).toBe(7);
        if (v === 5) expect(pubcomp.reasonCode ?? 0).toBe(0);
        const p = await sub.nextPacket("publish");
        expect([p.payload.toString(), p.qos]).toEqual(["once", 2]);
        await sub.ack(p);
        await sub.noPacket(200);
        // After PUBCOMP the id is free: a PUBLISH with id 7 is a new application message [MQTT-4.3.3-12].
        pub.send({ ...publish, payload: Buffer.from("again") });
        expect((await pub.nextPacket("pubrec")).messageId).toBe(7);
        const again = await sub.nextPacket("publish");
        expect(again.payload.toString()).toBe("again");
      });

      it(`[MQTT-4.3.3-11] (v3.1.1 [MQTT-4.3.3-2]) PUBREL for an unknown packet id is answered with PUBCOMP${v === 5 ? " 0x92" : ""}`, async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "stray-pubrel" });
        c.send({ cmd: "pubrel", messageId: 99 });
        const pubcomp = await c.nextPacket("pubcomp");
        expect(pubcomp.messageId).toBe(99);
        if (v === 5) {
          expect(pubcomp.reasonCode).toBe(0x92);
        } else {
          expect(pubcomp.length).toBe(2);
        }
        expect(c.isClosed).toBe(false);
      });

      if (v === 5) {
        it("v5 §3.4.2.1 PUBACK/PUBREC 0x10 (No matching subscribers) when nobody is subscribed, 0x00 otherwise", async (ctx) => {
          const t = await brokerFor(ctx);
          const pub = await connectRaw(t, 5, { clientId: "nms-pub" });
          const [puback] = await pub.publish("nobody/here", "x", { qos: 1 });
          expect(puback?.cmd === "puback" && puback.reasonCode).toBe(0x10);
          const [pubrec, pubcomp] = await pub.publish("nobody/here", "x", { qos: 2 });
          expect(pubrec?.cmd === "pubrec" && pubrec.reasonCode).toBe(0x10);
          expect(pubcomp?.cmd).toBe("pubcomp");
          const sub = await connectRaw(t, 5, { clientId: "nms-sub" });
          await sub.subscribe("nobody/#", 0);
          const [ok] = await pub.publish("nobody/here", "x", { qos: 1 });
          expect(ok?.cmd === "puback" && (ok.reasonCode ?? 0)).toBe(0);
          expect(t.broker.stats.drops["no-subscribers"]).toBe(2);
        });
      } else {
        it("v3.1.1 PUBACK carries only the packet id, with or without subscribers", async (ctx) => {
          const t = await brokerFor(ctx);
          const pub = await connectRaw(t, 4, { clientId: "nms-pub" });
          const [puback] = await pub.publish("nobody/here", "x", { qos: 1 });
          expect(puback?.length).toBe(2);
          const [pubrec, pubcomp] = await pub.publish("nobody/here", "x", { qos: 2 });
          expect([pubrec?.length, pubcomp?.length]).toEqual([2, 2]);
        });
      }

      it(`authorizePublish denial: ${v === 5 ? "PUBACK/PUBREC 0x87" : "positive acknowledgement [MQTT-3.3.5-2]"}, message not delivered`, async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: { authorizePublish: (_c, topic) => (topic.startsWith("forbidden/") ? 0x87 : 0) },
        });
        const sub = await connectRaw(t, v, { clientId: "deny-sub" });
        await sub.subscribe("#", 2);
        const pub = await connectRaw(t, v, { clientId: "deny-pub" });
        await pub.publish("forbidden/0", "x", { qos: 0 });
        const [puback] = await pub.publish("forbidden/1", "x", { qos: 1 });
        const acks2 = await pub.publish("forbidden/2", "x", { qos: 2 });
        if (v === 5) {
          expect(puback?.cmd === "puback" && puback.reasonCode).toBe(0x87);
          // A PUBREC >= 0x80 ends the QoS 2 flow: no PUBREL/PUBCOMP (§4.3.3).
          expect(acks2.map((a) => (a.cmd === "pubrec" ? a.reasonCode : a.cmd))).toEqual([0x87]);
        } else {
          expect([puback?.cmd, puback?.length]).toEqual(["puback", 2]);
          expect(acks2.map((a) => a.cmd)).toEqual(["pubrec", "pubcomp"]);
        }
        await pub.publish("allowed/1", "ok", { qos: 1 });
        const p = await sub.nextPacket("publish");
        expect(p.topic).toBe("allowed/1");
        await sub.ack(p);
        await sub.noPacket(150);
        expect(t.broker.stats.authorizationDenials).toBe(3);
      });

      it("[MQTT-4.6.0-2] [MQTT-4.6.0-3] an asynchronous authorizePublish keeps acknowledgements in PUBLISH order", async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: {
            authorizePublish: async (_c, topic) => {
              await delay(topic === "slow" ? 60 : 1);
              return 0;
            },
          },
        });
        const sub = await connectRaw(t, v, { clientId: "async-sub" });
        await sub.subscribe("#", 1);
        const pub = await connectRaw(t, v, { clientId: "async-pub" });
        const base = { cmd: "publish" as const, payload: Buffer.from("x"), retain: false, dup: false };
        pub.send({ ...base, topic: "slow", qos: 1, messageId: 1 });
        pub.send({ ...base, topic: "fast", qos: 2, messageId: 2 });
        pub.send({ ...base, topic: "fast", qos: 1, messageId: 3 });
        const acks = await pub.nextPackets(3);
        expect(acks.map((a) => [a.cmd, a.messageId])).toEqual([
          ["puback", 1],
          ["pubrec", 2],
          ["puback", 3],
        ]);
        const routed = await sub.nextPackets(3, "publish");
        expect(routed.map((p) => p.topic)).toEqual(["slow", "fast", "fast"]);
      });

      for (const qos of [1, 2] as const) {
        it(`[MQTT-3.3.4-7] in-flight window of 2 (${v === 5 ? "client Receive Maximum" : "maxInflightOut"}), QoS ${qos}: never more than 2 unacknowledged, all delivered in order`, async (ctx) => {
          const t = await brokerFor(ctx, v === 5 ? {} : { maxInflightOut: 2 });
          const sub = await connectRaw(t, v, { clientId: "window-sub", ...(v === 5 ? { properties: { receiveMaximum: 2 } } : {}) });
          await sub.subscribe("w", qos);
          const pub = await connectRaw(t, v, { clientId: "window-pub" });
          for (let i = 0; i < 10; i++) await pub.publish("w", String(i), { qos });
          const unacked: PacketOf<"publish">[] = await sub.nextPackets(2, "publish");
          const order = unacked.map((p) => p.payload.toString());
          await sub.noPacket(150);
          while (unacked.length > 0) {
            const oldest = unacked.shift() as PacketOf<"publish">;
            if (qos === 1) {
              sub.send({ cmd: "puback", messageId: oldest.messageId as number });
            } else {
              sub.send({ cmd: "pubrec", messageId: oldest.messageId as number });
              // PUBREC alone does not free the slot (counted until PUBCOMP).
              expect((await sub.nextPacket("pubrel")).messageId).toBe(oldest.messageId);
              await sub.noPacket(50);
              sub.send({ cmd: "pubcomp", messageId: oldest.messageId as number });
            }
            if (order.length < 10) {
              const next = await sub.nextPacket("publish");
              expect(next.qos).toBe(qos);
              unacked.push(next);
              order.push(next.payload.toString());
              expect(unacked.length).toBe(2);
              await sub.noPacket(30);
            }
          }
          expect(order).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
          await sub.noPacket(100);
        });
      }
    });
  }
});
