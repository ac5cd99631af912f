import { describe, expect, it } from "vitest";
import type { DropReason } from "../src/hooks.ts";
import type { BrokerOptions } from "../src/options.ts";
import { brokerFor, delay, until, VERSIONS, type Version } from "./core-util.ts";
import type { TestBroker } from "./harness.ts";
import { connectRaw, openRaw, type PacketOf, type RawClient } from "./raw-client.ts";

/** Session state across connections (MQTT 3.1.1 §3.1.2.4, §4.1, §4.4; MQTT 5.0 §3.1.2.4, §3.1.2.11.2, §4.1, §4.4). */

type Connect = Partial<PacketOf<"connect">>;

/** CONNECT fields for a session that outlives the connection: CleanSession 0 / Clean Start 0 + expiry. */
function persistent(v: Version, expiry = 60): Connect {
  return v === 5 ? { clean: false, properties: { sessionExpiryInterval: expiry } } : { clean: false };
}

/** Opens a connection and returns it with its CONNACK. */
async function open(t: TestBroker, v: Version, clientId: string, fields: Connect): Promise<[RawClient, PacketOf<"connack">]> {
  const c = await openRaw(t, v);
  const connack = await c.connect({ clientId, ...fields });
  expect(v === 5 ? connack.reasonCode : connack.returnCode).toBe(0);
  return [c, connack];
}

/** Normal DISCONNECT, then waits until the broker has detached the session. */
async function bye(t: TestBroker, c: RawClient, clientId: string): Promise<void> {
  c.send(c.protocolVersion === 5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
  await c.closed();
  await until(() => !t.broker.connected.has(clientId), 3000, `${clientId} detached`);
}

/** Drops the connection without DISCONNECT and waits until the broker noticed. */
async function cut(t: TestBroker, c: RawClient, clientId: string): Promise<void> {
  c.destroy();
  await until(() => !t.broker.connected.has(clientId), 3000, `${clientId} detached`);
}

function payloads(packets: PacketOf<"publish">[]): string[] {
  return packets.map((p) => p.payload.toString());
}

describe("05 sessions", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] (3.1.1) Session Present: 0 for a clean or new session, 1 when resuming", async (ctx) => {
        const t = await brokerFor(ctx);
        const [a, ca] = await open(t, v, "sp", { clean: true });
        expect(ca.sessionPresent).toBe(false);
        await bye(t, a, "sp");
        const [b, cb] = await open(t, v, "sp", persistent(v));
        expect(cb.sessionPresent).toBe(false);
        await bye(t, b, "sp");
        const [c, cc] = await open(t, v, "sp", persistent(v));
        expect(cc.sessionPresent).toBe(true);
        await bye(t, c, "sp");
        const [, cd] = await open(t, v, "sp", { clean: true });
        expect(cd.sessionPresent).toBe(false);
      });

      it("[MQTT-3.1.2-5] (3.1.1) a persistent session keeps its subscriptions and stores QoS 1/2 messages while offline, not QoS 0", async (ctx) => {
        const t = await brokerFor(ctx);
        const [sub] = await open(t, v, "offline", persistent(v));
        await sub.subscribe("s/#", 2);
        await bye(t, sub, "offline");
        const pub = await connectRaw(t, v, { clientId: "offline-pub" });
        await pub.publish("s/0", "q0", { qos: 0 });
        await pub.publish("s/1", "q1", { qos: 1 });
        await pub.publish("s/2", "q2", { qos: 2 });
        expect(t.broker.stats.drops["qos0-offline"]).toBe(1);
        const [back, connack] = await open(t, v, "offline", persistent(v));
        expect(connack.sessionPresent).toBe(true);
        const queued = await back.nextPackets(2, "publish");
        expect(queued.map((p) => [p.topic, p.payload.toString(), p.qos, p.dup])).toEqual([
          ["s/1", "q1", 1, false],
          ["s/2", "q2", 2, false],
        ]);
        for (const p of queued) await back.ack(p);
        await back.noPacket(150);
        // The subscription came back with the session.
        await pub.publish("s/x", "live", { qos: 1 });
        const live = await back.nextPacket("publish");
        expect([live.topic, live.payload.toString(), live.qos]).toEqual(["s/x", "live", 1]);
      });

      it("queueQos0Offline: QoS 0 messages are queued too, in publish order", async (ctx) => {
        const t = await brokerFor(ctx, { queueQos0Offline: true });
        const [sub] = await open(t, v, "q0", persistent(v));
        await sub.subscribe("s/#", 2);
        await bye(t, sub, "q0");
        const pub = await connectRaw(t, v, { clientId: "q0-pub" });
        await pub.publish("s/0", "a", { qos: 0 });
        await pub.publish("s/1", "b", { qos: 1 });
        await pub.publish("s/0", "c", { qos: 0 });
        await pub.publish("s/2", "d", { qos: 2 });
        const [back] = await open(t, v, "q0", persistent(v));
        const got = await back.nextPackets(4, "publish");
        expect(got.map((p) => [p.payload.toString(), p.qos])).toEqual([
          ["a", 0],
          ["b", 1],
          ["c", 0],
          ["d", 2],
        ]);
        expect(t.broker.stats.drops["qos0-offline"]).toBe(0);
      });

      it("[MQTT-4.4.0-1] [MQTT-3.3.1-1] unacknowledged QoS 1/2 PUBLISHes are re-sent with DUP=1 and the same ids on resume, PUBREL for released ones", async (ctx) => {
        const t = await brokerFor(ctx);
        const [sub] = await open(t, v, "resend", persistent(v));
        await sub.subscribe("i/#", 2);
        const pub = await connectRaw(t, v, { clientId: "resend-pub" });
        await pub.publish("i/1", "first", { qos: 1 });
        await pub.publish("i/2", "second", { qos: 2 });
        await pub.publish("i/3", "third", { qos: 2 });
        const [p1, p2, p3] = await sub.nextPackets(3, "publish");
        expect([p1?.dup, p2?.dup, p3?.dup]).toEqual([false, false, false]);
        // Acknowledge only the PUBREC of the third: the server is then waiting for PUBCOMP.
        sub.send({ cmd: "pubrec", messageId: p3?.messageId as number });
        expect((await sub.nextPacket("pubrel")).messageId).toBe(p3?.messageId);
        await cut(t, sub, "resend");

        const [back, connack] = await open(t, v, "resend", persistent(v));
        expect(connack.sessionPresent).toBe(true);
        // In the original order [MQTT-4.6.0-1].
        const r1 = await back.nextPacket("publish");
        const r2 = await back.nextPacket("publish");
        const rel = await back.nextPacket("pubrel");
        expect([r1.topic, r1.payload.toString(), r1.qos, r1.dup, r1.messageId]).toEqual(["i/1", "first", 1, true, p1?.messageId]);
        expect([r2.topic, r2.payload.toString(), r2.qos, r2.dup, r2.messageId]).toEqual(["i/2", "second", 2, true, p2?.messageId]);
        expect(rel.messageId).toBe(p3?.messageId);
        back.send({ cmd: "puback", messageId: r1.messageId as number });
        await back.ack(r2);
        back.send({ cmd: "pubcomp", messageId: rel.messageId as number });
        await back.noPacket(150);
        expect(t.broker.sessions.get("resend")?.inflight.size).toBe(0);
      });

      it("[MQTT-3.3.1-1] on resume, in-flight messages come back with DUP=1, then queued ones with DUP=0", async (ctx) => {
        const t = await brokerFor(ctx, v === 5 ? {} : { maxInflightOut: 1 });
        const windowOfOne = v === 5 ? { properties: { sessionExpiryInterval: 60, receiveMaximum: 1 } } : {};
        const [sub] = await open(t, v, "mixed", { ...persistent(v), ...windowOfOne });
        await sub.subscribe("mx", 1);
        const pub = await connectRaw(t, v, { clientId: "mixed-pub" });
        for (const m of ["a", "b", "c"]) await pub.publish("mx", m, { qos: 1 });
        const first = await sub.nextPacket("publish");
        await sub.noPacket(100);
        await cut(t, sub, "mixed");
        const [back] = await open(t, v, "mixed", persistent(v));
        const got: PacketOf<"publish">[] = [];
        for (let i = 0; i < 3; i++) {
          const p = await back.nextPacket("publish");
          got.push(p);
          await back.ack(p);
        }
        expect(got.map((p) => [p.payload.toString(), p.dup])).toEqual([
          ["a", true],
          ["b", false],
          ["c", false],
        ]);
        expect(got[0]?.messageId).toBe(first.messageId);
      });

      it("§4.1 [MQTT-4.3.3-10] an incoming QoS 2 packet id awaiting PUBREL is session state: a re-sent PUBLISH after reconnect is not routed again", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "q2-sub" });
        await sub.subscribe("q2", 2);
        const [pub] = await open(t, v, "q2-pub", persistent(v));
        const publish: PacketOf<"publish"> = { cmd: "publish", topic: "q2", payload: Buffer.from("one"), qos: 2, retain: false, dup: false, messageId: 42 };
        pub.send(publish);
        expect((await pub.nextPacket("pubrec")).messageId).toBe(42);
        await cut(t, pub, "q2-pub");
        const [again, connack] = await open(t, v, "q2-pub", persistent(v));
        expect(connack.sessionPresent).toBe(true);
        again.send({ ...publish, dup: true });
        expect((await again.nextPacket("pubrec")).messageId).toBe(42);
        again.send({ cmd: "pubrel", messageId: 42 });
        const pubcomp = await again.nextPacket("pubcomp");
        expect([pubcomp.messageId, pubcomp.reasonCode ?? 0]).toEqual([42, 0]);
        const p = await sub.nextPacket("publish");
        expect(p.payload.toString()).toBe("one");
        await sub.ack(p);
        await sub.noPacket(200);
      });

      it("[MQTT-4.4.0-1] in-flight messages are re-sent after a takeover by a connection resuming the session", async (ctx) => {
        const t = await brokerFor(ctx);
        const [sub] = await open(t, v, "take", persistent(v));
        await sub.subscribe("tk", 1);
        const pub = await connectRaw(t, v, { clientId: "take-pub" });
        await pub.publish("tk", "pending", { qos: 1 });
        const first = await sub.nextPacket("publish");
        const [second, connack] = await open(t, v, "take", persistent(v));
        expect(connack.sessionPresent).toBe(true);
        await sub.closed();
        const again = await second.nextPacket("publish");
        expect([again.payload.toString(), again.dup, again.messageId]).toEqual(["pending", true, first.messageId]);
      });

      it(`[MQTT-3.1.2-${v === 5 ? "4" : "6"}] Clean ${v === 5 ? "Start" : "Session"} 1 discards the stored session: no queued messages, no subscriptions`, async (ctx) => {
        const t = await brokerFor(ctx);
        const [sub] = await open(t, v, "discard", persistent(v));
        await sub.subscribe("d/#", 1);
        await bye(t, sub, "discard");
        const pub = await connectRaw(t, v, { clientId: "discard-pub" });
        await pub.publish("d/1", "queued", { qos: 1 });
        const [fresh, connack] = await open(t, v, "discard", { clean: true });
        expect(connack.sessionPresent).toBe(false);
        await fresh.noPacket(150);
        await pub.publish("d/2", "unseen", { qos: 1 });
        await fresh.noPacket(150);
        expect(t.broker.stats.subscriptions).toBe(0);
      });

      it(`[MQTT-3.1.2-${v === 5 ? "23" : "6"}] a ${v === 5 ? "session with no Session Expiry Interval" : "Clean Session 1 session"} ends with the connection`, async (ctx) => {
        const t = await brokerFor(ctx);
        const [sub] = await open(t, v, "short", { clean: true });
        await sub.subscribe("sh/#", 1);
        await bye(t, sub, "short");
        expect(t.broker.sessions.get("short")).toBeUndefined();
        const pub = await connectRaw(t, v, { clientId: "short-pub" });
        await pub.publish("sh/1", "lost", { qos: 1 });
        const [back, connack] = await open(t, v, "short", v === 5 ? { clean: false } : { clean: false });
        expect(connack.sessionPresent).toBe(false);
        await back.noPacket(150);
      });

      for (const [policy, expected] of [
        ["drop-new", ["m1", "m2", "m3"]],
        ["drop-oldest", ["m3", "m4", "m5"]],
      ] as const) {
        it(`maxQueuedMessages 3, queueOverflow ${policy}: ${expected.join(",")} survive, 2 drops counted as queue-full`, async (ctx) => {
          const dropped: [string, string, DropReason][] = [];
          const t = await brokerFor(ctx, {
            maxQueuedMessages: 3,
            queueOverflow: policy,
            hooks: {
              authenticate: () => ({ ok: true }),
              authorizePublish: () => 0,
              authorizeSubscribe: (_c, _f, qos) => qos,
              onMessageDropped: (clientId, message, reason) => dropped.push([clientId, message.payload.toString(), reason]),
            },
          });
          const [sub] = await open(t, v, "lim", persistent(v));
          await sub.subscribe("l", 1);
          await bye(t, sub, "lim");
          const pub = await connectRaw(t, v, { clientId: "lim-pub" });
          for (let i = 1; i <= 5; i++) await pub.publish("l", `m${i}`, { qos: 1 });
          expect(t.broker.stats.drops["queue-full"]).toBe(2);
          const lost = policy === "drop-new" ? ["m4", "m5"] : ["m1", "m2"];
          expect(dropped).toEqual(lost.map((m) => ["lim", m, "queue-full"]));
          const [back] = await open(t, v, "lim", persistent(v));
          const got = await back.nextPackets(3, "publish");
          expect(payloads(got)).toEqual([...expected]);
          for (const p of got) await back.ack(p);
          await back.noPacket(150);
        });
      }

      for (const [policy, expected] of [
        ["drop-new", ["payload-01", "payload-02"]],
        ["drop-oldest", ["payload-04", "payload-05"]],
      ] as const) {
        it(`maxQueuedBytes 25 (10-byte payloads), queueOverflow ${policy}: ${expected.join(",")} survive`, async (ctx) => {
          const t = await brokerFor(ctx, { maxQueuedBytes: 25, queueOverflow: policy });
          const [sub] = await open(t, v, "bytes", persistent(v));
          await sub.subscribe("b", 2);
          await bye(t, sub, "bytes");
          const pub = await connectRaw(t, v, { clientId: "bytes-pub" });
          for (let i = 1; i <= 5; i++) await pub.publish("b", `payload-0${i}`, { qos: 2 });
          expect(t.broker.stats.drops["queue-full"]).toBe(3);
          const [back] = await open(t, v, "bytes", persistent(v));
          const got = await back.nextPackets(2, "publish");
          expect(payloads(got)).toEqual([...expected]);
          for (const p of got) await back.ack(p);
          await back.noPacket(150);
        });
      }

      it("the queue limit also applies online when the in-flight window is full", async (ctx) => {
        const options: Partial<BrokerOptions> = { maxQueuedMessages: 2, queueOverflow: "drop-new" };
        if (v === 4) options.maxInflightOut = 1;
        const t = await brokerFor(ctx, options);
        const sub = await connectRaw(t, v, { clientId: "busy", ...(v === 5 ? { properties: { receiveMaximum: 1 } } : {}) });
        await sub.subscribe("bz", 1);
        const pub = await connectRaw(t, v, { clientId: "busy-pub" });
        for (let i = 1; i <= 5; i++) await pub.publish("bz", `m${i}`, { qos: 1 });
        expect(t.broker.stats.drops["queue-full"]).toBe(2);
        const order: string[] = [];
        for (let i = 0; i < 3; i++) {
          const p = await sub.nextPacket("publish");
          order.push(p.payload.toString());
          await sub.noPacket(30);
          await sub.ack(p);
        }
        expect(order).toEqual(["m1", "m2", "m3"]);
        await sub.noPacket(150);
      });
    });
  }

  describe("session expiry", () => {
    it.concurrent("v3SessionExpiryInterval: a v3.1.1 Clean Session 0 session expires after the configured interval", async (ctx) => {
      const t = await brokerFor(ctx, { v3SessionExpiryInterval: 1 });
      const [a] = await open(t, 4, "v3exp", persistent(4));
      await a.subscribe("x", 1);
      await bye(t, a, "v3exp");
      await delay(300);
      const [b, early] = await open(t, 4, "v3exp", persistent(4));
      expect(early.sessionPresent).toBe(true);
      await bye(t, b, "v3exp");
      await delay(1500);
      const [, late] = await open(t, 4, "v3exp", persistent(4));
      expect(late.sessionPresent).toBe(false);
    });

    it.concurrent("[MQTT-3.1.2-23] a session with expiry 1 s is kept for 1 s after disconnect, then discarded", async (ctx) => {
      const t = await brokerFor(ctx);
      const [a] = await open(t, 5, "exp", persistent(5, 1));
      await a.subscribe("e", 1);
      await bye(t, a, "exp");
      await delay(300);
      const [b, early] = await open(t, 5, "exp", persistent(5, 1));
      expect(early.sessionPresent).toBe(true);
      await bye(t, b, "exp");
      await delay(1500);
      expect(t.broker.sessions.get("exp")).toBeUndefined();
      const [, late] = await open(t, 5, "exp", persistent(5, 1));
      expect(late.sessionPresent).toBe(false);
      expect(t.broker.stats.subscriptions).toBe(0);
    });

    it("§3.14.2.2.2 DISCONNECT may lower the expiry to 0: the session ends at once", async (ctx) => {
      const t = await brokerFor(ctx);
      const [a] = await open(t, 5, "lower", persistent(5, 60));
      await a.subscribe("x", 1);
      a.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
      await a.closed();
      await until(() => !t.broker.connected.has("lower"));
      expect(t.broker.sessions.get("lower")).toBeUndefined();
      const [, connack] = await open(t, 5, "lower", persistent(5, 60));
      expect(connack.sessionPresent).toBe(false);
    });

    it.concurrent("§3.14.2.2.2 DISCONNECT may raise a non-zero expiry: the session outlives the CONNECT value", async (ctx) => {
      const t = await brokerFor(ctx);
      const [a] = await open(t, 5, "raise", persistent(5, 1));
      await a.subscribe("x", 1);
      a.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
      await a.closed();
      await delay(1500);
      const [, connack] = await open(t, 5, "raise", persistent(5, 60));
      expect(connack.sessionPresent).toBe(true);
    });

    it("§3.14.2.2.2 expiry 0 at CONNECT and non-zero at DISCONNECT is a Protocol Error (DISCONNECT 0x82), the session still ends", async (ctx) => {
      const t = await brokerFor(ctx);
      const [a] = await open(t, 5, "zero", { clean: true });
      await a.subscribe("x", 1);
      a.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
      const d = await a.nextPacket("disconnect");
      expect(d.reasonCode).toBe(0x82);
      // The server never sends a Session Expiry Interval on DISCONNECT [MQTT-3.14.2-2].
      expect(d.properties?.sessionExpiryInterval).toBeUndefined();
      await a.closed();
      await until(() => !t.broker.connected.has("zero"));
      const [, connack] = await open(t, 5, "zero", persistent(5, 60));
      expect(connack.sessionPresent).toBe(false);
    });

    it.concurrent("§3.2.2.3.2 maxSessionExpiryInterval caps the requested expiry and CONNACK tells the client", async (ctx) => {
      const t = await brokerFor(ctx, { maxSessionExpiryInterval: 1 });
      const [a, connack] = await open(t, 5, "capped", persistent(5, 3600));
      expect(connack.properties?.sessionExpiryInterval).toBe(1);
      const [, uncapped] = await open(t, 5, "small", persistent(5, 1));
      expect(uncapped.properties?.sessionExpiryInterval).toBeUndefined();
      await a.subscribe("x", 1);
      await bye(t, a, "capped");
      await delay(1500);
      const [, late] = await open(t, 5, "capped", persistent(5, 3600));
      expect(late.sessionPresent).toBe(false);
    });

    it("[MQTT-3.3.4-7] resuming with a smaller Receive Maximum: no more than that many unacknowledged PUBLISHes are re-sent at once", async (ctx) => {
      const t = await brokerFor(ctx);
      const [sub] = await open(t, 5, "shrink", { clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 5 } });
      await sub.subscribe("sk", 1);
      const pub = await connectRaw(t, 5, { clientId: "shrink-pub" });
      for (let i = 1; i <= 5; i++) await pub.publish("sk", `m${i}`, { qos: 1 });
      const first = await sub.nextPackets(5, "publish");
      await cut(t, sub, "shrink");
      const [back] = await open(t, 5, "shrink", { clean: false, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } });
      const resent = await back.nextPackets(2, "publish");
      await back.noPacket(150);
      const order = resent.map((p) => p.payload.toString());
      const unacked = [...resent];
      while (unacked.length > 0) {
        const p = unacked.shift() as PacketOf<"publish">;
        await back.ack(p);
        if (order.length < 5) {
          const next = await back.nextPacket("publish");
          unacked.push(next);
          order.push(next.payload.toString());
          await back.noPacket(30);
        }
      }
      expect(order).toEqual(["m1", "m2", "m3", "m4", "m5"]);
      // Re-sent under their original packet ids, with DUP=1.
      expect(resent.map((p) => [p.messageId, p.dup])).toEqual(first.slice(0, 2).map((p) => [p.messageId, true]));
    });

    it("DISCONNECT without a Session Expiry Interval keeps the CONNECT value", async (ctx) => {
      const t = await brokerFor(ctx);
      const [a] = await open(t, 5, "keep", persistent(5, 60));
      await a.subscribe("x", 1);
      await bye(t, a, "keep");
      expect(t.broker.sessions.get("keep")?.expiryInterval).toBe(60);
      const [, connack] = await open(t, 5, "keep", persistent(5, 60));
      expect(connack.sessionPresent).toBe(true);
    });
  });
});
