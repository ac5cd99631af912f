import { describe, expect, it } from "vitest";
import { brokerFor, delay, until, VERSIONS, type Version } from "./core-util.ts";
import type { TestBroker } from "./harness.ts";
import { connectRaw, openRaw, type PacketOf, type RawClient } from "./raw-client.ts";

/** Will messages (MQTT 3.1.1 §3.1.2.5, §3.1.3.2-3; MQTT 5.0 §3.1.2.5, §3.1.3.2-4, §3.14.2.1). */

type Will = NonNullable<PacketOf<"connect">["will"]>;

/** An observer subscribed to `w/#` at `qos` (retain handling default). */
async function observer(t: TestBroker, v: Version, qos: 0 | 1 | 2 = 2, clientId = "observer"): Promise<RawClient> {
  const o = await connectRaw(t, v, { clientId });
  expect((await o.subscribe("w/#", qos)).granted).toEqual([qos]);
  return o;
}

function will(v: Version, overrides: Partial<Will> = {}): Will {
  return { topic: "w/a", payload: Buffer.from(`gone-${v}`), qos: 1, retain: false, ...overrides };
}


describe("07 will", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-3.1.2-8] the will is published when the network connection is lost without DISCONNECT", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        const c = await connectRaw(t, v, { clientId: "dies", will: will(v) });
        c.destroy();
        const p = await o.nextPacket("publish");
        expect([p.topic, p.payload.toString(), p.qos, p.retain]).toEqual(["w/a", `gone-${v}`, 1, false]);
        await o.ack(p);
        await o.noPacket(200);
      });

      it.concurrent("[MQTT-3.1.2-8] the will is published when the keep-alive expires", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        await connectRaw(t, v, { clientId: "silent", keepalive: 1, will: will(v) });
        const start = Date.now();
        const p = await o.nextPacket("publish", 3500);
        const elapsed = Date.now() - start;
        expect([p.topic, p.payload.toString()]).toEqual(["w/a", `gone-${v}`]);
        expect(elapsed).toBeGreaterThanOrEqual(1400);
        expect(elapsed).toBeLessThanOrEqual(2600);
      });

      it("[MQTT-3.1.2-8] the will is published when the server closes the connection for a protocol error (second CONNECT)", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        const c = await connectRaw(t, v, { clientId: "bad", will: will(v) });
        c.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: v, clientId: "bad", clean: true, keepalive: 0 });
        await c.closed();
        const p = await o.nextPacket("publish");
        expect([p.topic, p.payload.toString()]).toEqual(["w/a", `gone-${v}`]);
      });

      it("[MQTT-3.1.2-8] the will is published when the server closes the connection for a malformed packet", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        const c = await connectRaw(t, v, { clientId: "garbled", will: will(v) });
        // Packet type 0 is reserved (§2.1.2).
        c.write([0x00, 0x00]);
        await c.closed();
        const p = await o.nextPacket("publish");
        expect([p.topic, p.payload.toString()]).toEqual(["w/a", `gone-${v}`]);
      });

      it("[MQTT-3.1.2-10] [MQTT-3.14.4-3] a normal DISCONNECT discards the will", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        const c = await connectRaw(t, v, { clientId: "polite", will: will(v) });
        c.send(v === 5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
        await c.closed();
        await until(() => t.broker.stats.connections === 1);
        await o.noPacket(400);
      });

      it("[MQTT-3.1.2-8] the will of a connection taken over is published (no will delay)", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        await connectRaw(t, v, { clientId: "twin", will: will(v) });
        await connectRaw(t, v, { clientId: "twin" });
        const p = await o.nextPacket("publish");
        expect([p.topic, p.payload.toString()]).toEqual(["w/a", `gone-${v}`]);
        await o.ack(p);
        await o.noPacket(200);
      });

      it("[MQTT-3.1.2-16] [MQTT-3.1.2-17] Will Retain 0 publishes a normal message, Will Retain 1 a retained one", async (ctx) => {
        const t = await brokerFor(ctx);
        const o = await observer(t, v);
        const plain = await connectRaw(t, v, { clientId: "w-plain", will: will(v, { topic: "w/plain", payload: Buffer.from("p") }) });
        const kept = await connectRaw(t, v, { clientId: "w-kept", will: will(v, { topic: "w/kept", payload: Buffer.from("k"), retain: true }) });
        plain.destroy();
        const p1 = await o.nextPacket("publish");
        kept.destroy();
        const p2 = await o.nextPacket("publish");
        // Established subscription: RETAIN 0 (3.1.1 [MQTT-3.3.1-9]; v5 without Retain As Published [MQTT-3.3.1-12]).
        expect([p1.topic, p1.retain, p2.topic, p2.retain]).toEqual(["w/plain", false, "w/kept", false]);
        expect(t.broker.retained.size).toBe(1);
        const late = await connectRaw(t, v, { clientId: "late" });
        await late.subscribe("w/#", 1);
        const r = await late.nextPacket("publish");
        expect([r.topic, r.payload.toString(), r.retain]).toEqual(["w/kept", "k", true]);
        await late.ack(r);
        await late.noPacket(150);
      });

      for (const [willQos, subQos] of [
        [2, 2],
        [2, 1],
        [1, 0],
        [0, 2],
      ] as const) {
        it(`§3.1.2.6 a will with QoS ${willQos} reaches a QoS ${subQos} subscriber at QoS ${Math.min(willQos, subQos)}`, async (ctx) => {
          const t = await brokerFor(ctx);
          const o = await observer(t, v, subQos);
          const c = await connectRaw(t, v, { clientId: "wq", will: will(v, { qos: willQos }) });
          c.destroy();
          const p = await o.nextPacket("publish");
          expect([p.topic, p.qos]).toEqual(["w/a", Math.min(willQos, subQos)]);
          if (p.qos === 2) {
            await o.ack(p);
            await until(() => t.broker.sessions.get("observer")?.inflight.size === 0, 1000, "PUBCOMP processed");
          }
        });
      }

      it("a will to a topic the client may not publish to is not published (authorizePublish)", async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: { authorizePublish: (_c, topic) => (topic === "w/forbidden" ? 0x87 : 0) },
        });
        const o = await observer(t, v);
        const a = await connectRaw(t, v, { clientId: "wa", will: will(v, { topic: "w/forbidden" }) });
        const b = await connectRaw(t, v, { clientId: "wb", will: will(v, { topic: "w/allowed" }) });
        a.destroy();
        await until(() => !t.broker.connected.has("wa"));
        b.destroy();
        const p = await o.nextPacket("publish");
        expect(p.topic).toBe("w/allowed");
        await o.ack(p);
        await o.noPacket(200);
      });
    });
  }

  describe("MQTT 5", () => {
    it("§3.14.2.1 DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, { clientId: "wants-will", will: will(5) });
      c.send({ cmd: "disconnect", reasonCode: 0x04 });
      await c.closed();
      const p = await o.nextPacket("publish");
      expect([p.topic, p.payload.toString(), p.qos]).toEqual(["w/a", "gone-5", 1]);
    });

    it("§3.14.2.2.2 a DISCONNECT that is a Protocol Error (expiry 0 -> non-zero) does not discard the will", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, { clientId: "bad-bye", will: will(5) });
      c.send({ cmd: "disconnect", reasonCode: 0, properties: { sessionExpiryInterval: 10 } });
      expect((await c.nextPacket("disconnect")).reasonCode).toBe(0x82);
      const p = await o.nextPacket("publish");
      expect(p.topic).toBe("w/a");
    });

    it("§3.1.3.2 will properties are passed through to subscribers, user properties in order [MQTT-3.1.3-10]", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, {
        clientId: "props",
        will: will(5, {
          payload: Buffer.from("{}"),
          properties: {
            contentType: "application/json",
            payloadFormatIndicator: true,
            responseTopic: "reply/here",
            correlationData: Buffer.from([1, 2, 3]),
            messageExpiryInterval: 120,
            userProperties: { first: "1", second: ["2a", "2b"], third: "3" },
          },
        }),
      });
      c.destroy();
      const p = await o.nextPacket("publish");
      const props = p.properties ?? {};
      expect(props.contentType).toBe("application/json");
      expect(props.payloadFormatIndicator).toBe(true);
      expect(props.responseTopic).toBe("reply/here");
      expect([...(props.correlationData ?? [])]).toEqual([1, 2, 3]);
      // Remaining lifetime, counted from when the will was published [MQTT-3.3.2-6].
      expect(props.messageExpiryInterval).toBeGreaterThanOrEqual(119);
      expect(props.messageExpiryInterval).toBeLessThanOrEqual(120);
      expect(Object.entries(props.userProperties ?? {})).toEqual([
        ["first", "1"],
        ["second", ["2a", "2b"]],
        ["third", "3"],
      ]);
      // The Will Delay Interval is a CONNECT-only property, never forwarded.
      expect(p.properties).not.toHaveProperty("willDelayInterval");
    });

    it.concurrent("[MQTT-3.1.3-9] the will is delayed by the Will Delay Interval", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, {
        clientId: "delayed",
        properties: { sessionExpiryInterval: 60 },
        will: will(5, { properties: { willDelayInterval: 1 } }),
      });
      c.destroy();
      const start = Date.now();
      await o.noPacket(700);
      const p = await o.nextPacket("publish", 2000);
      const elapsed = Date.now() - start;
      expect(p.topic).toBe("w/a");
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThanOrEqual(1600);
    });

    it.concurrent("[MQTT-3.1.3-9] a reconnect (Clean Start 0) before the Will Delay Interval cancels the will", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, {
        clientId: "comeback",
        properties: { sessionExpiryInterval: 60 },
        will: will(5, { properties: { willDelayInterval: 1 } }),
      });
      c.destroy();
      await delay(300);
      const back = await openRaw(t, 5);
      const connack = await back.connect({ clientId: "comeback", clean: false, properties: { sessionExpiryInterval: 60 } });
      expect(connack.sessionPresent).toBe(true);
      await o.noPacket(1500);
    });

    it.concurrent("[MQTT-3.1.3-9] a takeover resuming the session (Clean Start 0) within the Will Delay Interval cancels the will", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const first = await connectRaw(t, 5, {
        clientId: "swap",
        properties: { sessionExpiryInterval: 60 },
        will: will(5, { properties: { willDelayInterval: 1 } }),
      });
      const second = await openRaw(t, 5);
      const connack = await second.connect({ clientId: "swap", clean: false, properties: { sessionExpiryInterval: 60 } });
      expect(connack.sessionPresent).toBe(true);
      await first.closed();
      await o.noPacket(1500);
    });

    it("[MQTT-3.1.3-9] a reconnect with Clean Start 1 ends the old session, so the delayed will is sent at once", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, {
        clientId: "restart",
        properties: { sessionExpiryInterval: 60 },
        will: will(5, { properties: { willDelayInterval: 30 } }),
      });
      c.destroy();
      await until(() => !t.broker.connected.has("restart"));
      await o.noPacket(200);
      const back = await openRaw(t, 5);
      expect((await back.connect({ clientId: "restart", clean: true })).sessionPresent).toBe(false);
      const p = await o.nextPacket("publish", 1000);
      expect(p.topic).toBe("w/a");
    });

    it.concurrent("[MQTT-3.1.3-9] the will is sent when the session ends if that is before the Will Delay Interval", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, {
        clientId: "short-session",
        properties: { sessionExpiryInterval: 1 },
        will: will(5, { properties: { willDelayInterval: 30 } }),
      });
      c.destroy();
      const start = Date.now();
      const p = await o.nextPacket("publish", 2500);
      const elapsed = Date.now() - start;
      expect(p.topic).toBe("w/a");
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThanOrEqual(1600);
    });

    it("[MQTT-3.1.3-9] with Session Expiry 0 the session ends with the connection: a delayed will is sent at once", async (ctx) => {
      const t = await brokerFor(ctx);
      const o = await observer(t, 5);
      const c = await connectRaw(t, 5, { clientId: "no-session", will: will(5, { properties: { willDelayInterval: 30 } }) });
      c.destroy();
      const p = await o.nextPacket("publish", 1000);
      expect(p.topic).toBe("w/a");
    });
  });
});
