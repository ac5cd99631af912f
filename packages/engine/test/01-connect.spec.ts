import { describe, expect, it } from "vitest";
import type { AuthenticateRequest, AuthenticateResult, ClientInfo } from "../src/hooks.ts";
import { brokerFor, delay, until, VERSIONS } from "./core-util.ts";
import { connectRaw, openRaw } from "./raw-client.ts";

/** CONNECT / CONNACK / session takeover / keep-alive / DISCONNECT (MQTT 3.1.1 §3.1, §3.2, §3.14; MQTT 5.0 §3.1, §3.2, §3.14). */

/** A v3.1.1 CONNECT built by hand: empty client id, Clean Session 0 (mqtt-packet refuses to generate it). */
const CONNECT_V4_EMPTY_ID_PERSISTENT = [0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x3c, 0x00, 0x00];

/** CONNECT "MQTT" with the given protocol level byte, clean session, client id "c". */
function connectWithLevel(level: number): number[] {
  return [0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, level, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x63];
}

describe("01 connect", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-3.2.2-1] [MQTT-3.2.2-2] a valid CONNECT is accepted with code 0 and Session Present 0 for a clean start", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await openRaw(t, v);
        const connack = await c.connect({ clientId: "c1", clean: true });
        expect(connack.sessionPresent).toBe(false);
        if (v === 5) {
          expect(connack.reasonCode).toBe(0);
          // Maximum Packet Size and Topic Alias Maximum are advertised (v5 §3.2.2.3.6, §3.2.2.3.8).
          expect(connack.properties?.maximumPacketSize).toBe(1024 * 1024);
          expect(connack.properties?.topicAliasMaximum).toBe(65535);
          expect(connack.properties?.assignedClientIdentifier).toBeUndefined();
        } else {
          expect(connack.returnCode).toBe(0);
        }
        // The connection is usable: PINGREQ -> PINGRESP [MQTT-3.12.4-1].
        c.send({ cmd: "pingreq" });
        await c.nextPacket("pingresp");
        expect(t.broker.stats.connections).toBe(1);
      });

      it("[MQTT-3.1.0-1] a packet other than CONNECT as the first packet closes the connection", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await openRaw(t, v);
        c.send({ cmd: "pingreq" });
        await c.closed();
        expect(c.received).toEqual([]);
      });

      it("[MQTT-3.1.0-1] a PUBLISH before CONNECT is not routed", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await connectRaw(t, v, { clientId: "sub" });
        sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "early/#", qos: 0 }] });
        await sub.nextPacket("suback");
        const c = await openRaw(t, v);
        c.send({ cmd: "publish", topic: "early/x", payload: Buffer.from("nope"), qos: 0, retain: false, dup: false });
        await c.closed();
        await sub.noPacket(200);
      });

      it("[MQTT-3.1.0-2] a second CONNECT is a protocol violation and closes the connection", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "twice" });
        c.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: v, clientId: "twice", clean: true, keepalive: 0 });
        if (v === 5) {
          // v5: DISCONNECT with reason Protocol Error before closing [MQTT-4.13.1-1].
          const d = await c.nextPacket("disconnect");
          expect(d.reasonCode).toBe(0x82);
        }
        await c.closed();
        expect(c.received.map((p) => p.cmd)).toEqual(v === 5 ? ["connack", "disconnect"] : ["connack"]);
      });

      it("[MQTT-3.14.4-3] on a client DISCONNECT the server closes the connection (SHOULD) and sends nothing", async (ctx) => {
        const disconnected: string[] = [];
        const t = await brokerFor(ctx, {
          hooks: {
            authenticate: () => ({ ok: true }),
            authorizePublish: () => 0,
            authorizeSubscribe: (_c, _f, qos) => qos,
            onClientDisconnected: (client: ClientInfo) => disconnected.push(client.clientId),
          },
        });
        const c = await connectRaw(t, v, { clientId: "bye" });
        c.send(v === 5 ? { cmd: "disconnect", reasonCode: 0 } : { cmd: "disconnect" });
        await c.closed();
        expect(c.received.map((p) => p.cmd)).toEqual(["connack"]);
        await until(() => disconnected.length > 0);
        expect(disconnected).toEqual(["bye"]);
        expect(t.broker.stats.connections).toBe(0);
      });

      it("[MQTT-3.1.4-3] a second connection with the same client id takes over the session", async (ctx) => {
        const t = await brokerFor(ctx);
        const first = await connectRaw(t, v, { clientId: "dup-id" });
        const second = await connectRaw(t, v, { clientId: "dup-id" });
        if (v === 5) {
          // The old connection is told why: Session taken over (reason 0x8E, v5 §3.14.2.1).
          const d = await first.nextPacket("disconnect");
          expect(d.reasonCode).toBe(0x8e);
        }
        await first.closed();
        expect(first.received.map((p) => p.cmd)).toEqual(v === 5 ? ["connack", "disconnect"] : ["connack"]);
        // The new connection is live and owns the id.
        second.send({ cmd: "subscribe", messageId: 5, subscriptions: [{ topic: "to/#", qos: 1 }] });
        const suback = await second.nextPacket("suback");
        expect(suback.granted).toEqual([1]);
        expect(t.broker.connected.size).toBe(1);
        expect(t.broker.stats.connections).toBe(1);
      });

      it("[MQTT-3.2.2-4] [MQTT-3.2.2-5] authenticate hook refusal with bad credentials: v5 0x86, v3 return code 4, Session Present 0, closed", async (ctx) => {
        const seen: AuthenticateRequest[] = [];
        const t = await brokerFor(ctx, {
          hooks: {
            authenticate: (req) => {
              seen.push(req);
              return req.password?.toString() === "right" ? { ok: true } : { ok: false, reasonCode: 0x86 };
            },
            authorizePublish: () => 0,
            authorizeSubscribe: (_c, _f, qos) => qos,
          },
        });
        const bad = await openRaw(t, v);
        const refused = await bad.connect({ clientId: "auth-1", username: "u", password: Buffer.from("wrong") });
        expect(v === 5 ? refused.reasonCode : refused.returnCode).toBe(v === 5 ? 0x86 : 4);
        expect(refused.sessionPresent).toBe(false);
        await bad.closed();
        expect(seen[0]?.clientId).toBe("auth-1");
        expect(seen[0]?.username).toBe("u");
        expect(seen[0]?.password?.toString()).toBe("wrong");
        expect(seen[0]?.protocolVersion).toBe(v);
        expect(seen[0]?.clientIdAssigned).toBe(false);
        expect(t.broker.stats.connectionsRefused).toBe(1);

        const good = await openRaw(t, v);
        const accepted = await good.connect({ clientId: "auth-1", username: "u", password: Buffer.from("right") });
        expect(v === 5 ? accepted.reasonCode : accepted.returnCode).toBe(0);
      });

      it("[MQTT-3.2.2-5] [MQTT-3.2.2-7] authenticate hook refusal as not authorized: v5 0x87, v3 return code 5; nothing after CONNACK", async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: {
            authenticate: () => ({ ok: false, reasonCode: 0x87 }),
            authorizePublish: () => 0,
            authorizeSubscribe: (_c, _f, qos) => qos,
          },
        });
        const c = await openRaw(t, v);
        const connack = await c.connect({ clientId: "denied" });
        expect(v === 5 ? connack.reasonCode : connack.returnCode).toBe(v === 5 ? 0x87 : 5);
        // Packets after a refused CONNECT are not processed [MQTT-3.2.2-5 v3.1.1 / MQTT-3.2.2-7 v5].
        c.send({ cmd: "pingreq" });
        await c.closed();
        expect(c.received.map((p) => p.cmd)).toEqual(["connack"]);
        expect(t.broker.stats.connections).toBe(0);
      });

      it("asynchronous authenticate hook: accepts after it resolves, refuses when it rejects (server unavailable)", async (ctx) => {
        const t = await brokerFor(ctx, {
          hooks: {
            authenticate: async (req): Promise<AuthenticateResult> => {
              await delay(50);
              if (req.clientId === "throws") throw new Error("directory down");
              return req.clientId === "ok" ? { ok: true } : { ok: false, reasonCode: 0x87 };
            },
            authorizePublish: () => 0,
            authorizeSubscribe: (_c, _f, qos) => qos,
          },
        });
        const ok = await openRaw(t, v);
        // Packets sent right behind CONNECT wait for the hook, then run in order.
        ok.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: v, clientId: "ok", clean: true, keepalive: 0 });
        ok.send({ cmd: "pingreq" });
        const connack = await ok.nextPacket("connack");
        expect(v === 5 ? connack.reasonCode : connack.returnCode).toBe(0);
        await ok.nextPacket("pingresp");

        const no = await openRaw(t, v);
        const refused = await no.connect({ clientId: "no" });
        expect(v === 5 ? refused.reasonCode : refused.returnCode).toBe(v === 5 ? 0x87 : 5);
        await no.closed();

        const broken = await openRaw(t, v);
        const unavailable = await broken.connect({ clientId: "throws" });
        expect(v === 5 ? unavailable.reasonCode : unavailable.returnCode).toBe(v === 5 ? 0x88 : 3);
        await broken.closed();
      });

      it.concurrent("[MQTT-3.1.2-24] keep-alive: no packet within 1.5 x Keep Alive closes the connection", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "sleepy", keepalive: 1 });
        const start = Date.now();
        if (v === 5) {
          // v5: DISCONNECT Keep Alive timeout (0x8D, §3.14.2.1) before closing.
          const d = await c.nextPacket("disconnect", 3000);
          expect(d.reasonCode).toBe(0x8d);
        }
        await c.closed(3000);
        const elapsed = Date.now() - start;
        expect(elapsed).toBeGreaterThanOrEqual(1400);
        expect(elapsed).toBeLessThanOrEqual(2600);
      });

      it.concurrent("[MQTT-3.1.2-23] keep-alive: PINGREQ within the Keep Alive keeps the connection open", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "pinger", keepalive: 1 });
        for (let i = 0; i < 5; i++) {
          await delay(600);
          c.send({ cmd: "pingreq" });
          await c.nextPacket("pingresp");
        }
        // 3 s have passed: without the pings the connection would be gone after 2.5 s.
        expect(c.isClosed).toBe(false);
      });

      it.concurrent("§3.1.2.10 Keep Alive 0 turns the keep-alive mechanism off", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "idle-ok", keepalive: 0 });
        await delay(2600);
        expect(c.isClosed).toBe(false);
        c.send({ cmd: "pingreq" });
        await c.nextPacket("pingresp");
      });
    });
  }

  it("[MQTT-3.1.2-2] protocol level 3 with name MQIsdp (MQTT 3.1) is accepted", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 3);
    const connack = await c.connect({ protocolId: "MQIsdp", protocolVersion: 3, clientId: "legacy" });
    expect(connack.returnCode).toBe(0);
    c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "x", qos: 1 }] });
    expect((await c.nextPacket("suback")).granted).toEqual([1]);
  });

  it("MQTT 3.1: an empty client id is refused with return code 2 (3.1 requires 1-23 characters)", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 3);
    // mqtt-packet will not generate an empty v3.1 client id; build it: MQIsdp, level 3, clean, keepalive 60, id "".
    c.write([0x10, 0x0e, 0x00, 0x06, 0x4d, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03, 0x02, 0x00, 0x3c, 0x00, 0x00]);
    const connack = await c.nextPacket("connack");
    expect(connack.returnCode).toBe(2);
    await c.closed();
  });

  for (const level of [2, 6, 0x7f]) {
    it(`[MQTT-3.1.2-2] unsupported protocol level ${level} gets CONNACK return code 0x01 and the connection is closed`, async (ctx) => {
      const t = await brokerFor(ctx);
      const c = await openRaw(t, 4);
      c.write(connectWithLevel(level));
      const connack = await c.nextPacket("connack");
      expect(connack.returnCode).toBe(1);
      expect(connack.sessionPresent).toBe(false);
      // A v3 CONNACK: exactly two bytes of variable header.
      expect(connack.length).toBe(2);
      await c.closed();
      expect(t.broker.stats.connections).toBe(0);
    });
  }

  it("[MQTT-3.1.2-1] a wrong protocol name closes the connection without a successful CONNACK", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 4);
    // "MQTX", level 4.
    c.write([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x58, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x63]);
    await c.closed();
    expect(c.received).toEqual([]);
    expect(t.broker.stats.connections).toBe(0);
  });

  it("[MQTT-3.1.2-1] protocol name MQIsdp with level 4 (name and level disagree) is refused with 0x01", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 4);
    const connack = await c.connect({ protocolId: "MQIsdp", protocolVersion: 4, clientId: "mix" });
    expect(connack.returnCode).toBe(1);
    await c.closed();
  });

  it("[MQTT-3.1.2-1] protocol name MQTT with level 3 (name and level disagree) is refused with 0x01", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 3);
    const connack = await c.connect({ protocolId: "MQTT", protocolVersion: 3, clientId: "mix" });
    expect(connack.returnCode).toBe(1);
    await c.closed();
  });

  it("[MQTT-3.1.3-8] v3.1.1: an empty client id with Clean Session 0 is refused with return code 0x02", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 4);
    c.write(CONNECT_V4_EMPTY_ID_PERSISTENT);
    const connack = await c.nextPacket("connack");
    expect(connack.returnCode).toBe(2);
    expect(connack.sessionPresent).toBe(false);
    await c.closed();
    expect(t.broker.sessions.size).toBe(0);
  });

  it("[MQTT-3.1.3-6] [MQTT-3.1.3-7] v3.1.1: an empty client id with Clean Session 1 is accepted with a unique assigned id", async (ctx) => {
    const t = await brokerFor(ctx);
    const a = await openRaw(t, 4);
    expect((await a.connect({ clientId: "", clean: true })).returnCode).toBe(0);
    const b = await openRaw(t, 4);
    expect((await b.connect({ clientId: "", clean: true })).returnCode).toBe(0);
    // Two distinct sessions: neither took the other over.
    expect(t.broker.connected.size).toBe(2);
    expect(a.isClosed).toBe(false);
  });

  it("[MQTT-3.1.3-6] [MQTT-3.2.2-16] v5: an empty client id is accepted and the CONNACK returns the Assigned Client Identifier", async (ctx) => {
    const t = await brokerFor(ctx);
    const a = await openRaw(t, 5);
    const ca = await a.connect({ clientId: "", clean: true });
    const b = await openRaw(t, 5);
    // v5 has no Clean Start condition for an empty id (§3.1.3.1). mqtt-packet will not generate
    // it, so by hand: MQTT, level 5, flags 0, keepalive 60, Session Expiry Interval 10, id "".
    b.write([0x10, 0x12, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x00, 0x00, 0x3c, 0x05, 0x11, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00]);
    const cb = await b.nextPacket("connack");
    expect(ca.reasonCode).toBe(0);
    expect(cb.reasonCode).toBe(0);
    const idA = ca.properties?.assignedClientIdentifier;
    const idB = cb.properties?.assignedClientIdentifier;
    expect(idA).toMatch(/^halyard-.+/);
    expect(idB).toMatch(/^halyard-.+/);
    expect(idA).not.toBe(idB);
    expect([...t.broker.connected.keys()].sort()).toEqual([idA, idB].sort());
  });

  it.concurrent("v5 [MQTT-3.2.2-21] Server Keep Alive: maxKeepAlive replaces a larger or zero Keep Alive", async (ctx) => {
    const t = await brokerFor(ctx, { maxKeepAlive: 10 });
    const large = await openRaw(t, 5);
    expect((await large.connect({ clientId: "k60", keepalive: 60 })).properties?.serverKeepAlive).toBe(10);
    const zero = await openRaw(t, 5);
    expect((await zero.connect({ clientId: "k0", keepalive: 0 })).properties?.serverKeepAlive).toBe(10);
    const small = await openRaw(t, 5);
    expect((await small.connect({ clientId: "k5", keepalive: 5 })).properties?.serverKeepAlive).toBeUndefined();
    // v3.1.1 has no Server Keep Alive: the client's value stands and CONNACK is plain.
    const v4 = await openRaw(t, 4);
    const c4 = await v4.connect({ clientId: "k4", keepalive: 60 });
    expect(c4.returnCode).toBe(0);
    expect(c4.properties).toBeUndefined();
  });

  it.concurrent("v5 [MQTT-3.2.2-21] the Server Keep Alive is the one in force: keepalive 0 with maxKeepAlive 1 closes an idle client", async (ctx) => {
    const t = await brokerFor(ctx, { maxKeepAlive: 1 });
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "idle", keepalive: 0 });
    expect(connack.properties?.serverKeepAlive).toBe(1);
    const start = Date.now();
    const d = await c.nextPacket("disconnect", 3000);
    expect(d.reasonCode).toBe(0x8d);
    await c.closed();
    const elapsed = Date.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThanOrEqual(2600);
  });

  it.concurrent("connect timeout: a connection that sends no CONNECT within connectTimeoutMs is closed", async (ctx) => {
    const t = await brokerFor(ctx, { connectTimeoutMs: 500 });
    const c = await openRaw(t, 4);
    const start = Date.now();
    await c.closed(3000);
    const elapsed = Date.now() - start;
    // The broker checks once per second: closed after 0.5 s, no later than 0.5 s + one tick.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThanOrEqual(2200);
    expect(c.received).toEqual([]);
  });

  it.concurrent("connect timeout: a CONNECT received in time is not affected", async (ctx) => {
    const t = await brokerFor(ctx, { connectTimeoutMs: 500 });
    const c = await connectRaw(t, 4, { clientId: "in-time" });
    await delay(1600);
    expect(c.isClosed).toBe(false);
    c.send({ cmd: "pingreq" });
    await c.nextPacket("pingresp");
  });
});
