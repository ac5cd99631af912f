import mqttPacket from "mqtt-packet";
import type { MqttClient } from "mqtt";
import { describe, expect, it } from "vitest";
import { brokerFor, delay, until } from "./core-util.ts";
import { nextMessages, noMessage, type TestBroker } from "./harness.ts";
import { connectRaw, frame, mqttString, openRaw, varint, type Packet, type RawClient } from "./raw-client.ts";

/**
 * Malformed and out-of-order input over raw sockets (MQTT 5.0 §4.13, MQTT
 * 3.1.1 §4.8). Every case checks that (a) the offending connection is closed,
 * with a DISCONNECT and the right reason code for v5 once CONNACK was sent,
 * (b) the broker still accepts connections and (c) an already-connected pair
 * of clients keeps exchanging messages.
 */

type Version = 4 | 5;

interface Bystanders {
  /** Publishes on the sentinel topic and waits for the sentinel subscriber to receive it. */
  check(): Promise<void>;
  /** Subscribed to "#": must not receive anything a rejected packet carried. */
  watcher: MqttClient;
}

async function bystanders(t: TestBroker): Promise<Bystanders> {
  const sub = await t.connect({ clientId: "bystander-sub" });
  const pub = await t.connect({ clientId: "bystander-pub", protocolVersion: 4 });
  const watcher = await t.connect({ clientId: "bystander-watch" });
  await sub.subscribeAsync("sentinel/t", { qos: 1 });
  await watcher.subscribeAsync("#", { qos: 0 });
  let n = 0;
  return {
    watcher,
    async check() {
      const tag = `ping ${++n}`;
      const got = nextMessages(sub, 1);
      await pub.publishAsync("sentinel/t", tag, { qos: 1 });
      const [m] = await got;
      expect(m?.payload.toString()).toBe(tag);
      // (b): a new connection is still accepted.
      const fresh = await connectRaw(t, 5, { clientId: `fresh-${n}` });
      fresh.send({ cmd: "disconnect", reasonCode: 0 });
      await fresh.closed();
    },
  };
}

/**
 * Asserts the close: for v5 after CONNACK a DISCONNECT with `reasonCode`
 * comes first; otherwise nothing more arrives before the close.
 */
async function expectClosed(c: RawClient, version: Version, reasonCode: number): Promise<void> {
  const before = c.received.length;
  if (version === 5) {
    const d = await c.nextPacket("disconnect");
    expect(d.reasonCode).toBe(reasonCode);
  }
  await c.closed(2000);
  const extra = c.received.slice(before + (version === 5 ? 1 : 0));
  expect(extra.map((p) => p.cmd)).toEqual([]);
}

/** Closed without a single byte in reply (before or instead of CONNACK). */
async function expectDropped(c: RawClient): Promise<void> {
  await c.closed(2000);
  expect(c.received.map((p) => p.cmd)).toEqual([]);
}

const VERSIONS: Version[] = [4, 5];

/** A v4/v5 PUBLISH QoS 0 built by hand (v5 adds an empty properties block). */
function rawPublish(version: Version, topic: Buffer | string, payload = "x", firstByte = 0x30): Buffer {
  return frame(firstByte, mqttString(topic), version === 5 ? [0x00] : [], Buffer.from(payload));
}

describe("13 malformed packets after CONNECT", () => {
  for (const v of VERSIONS) {
    describe(`protocol level ${v}`, () => {
      it("[MQTT-1.5.5-1] a Remaining Length of more than 4 bytes is malformed -> 0x81", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "varint" });
        c.write([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]);
        await expectClosed(c, v, 0x81);
        expect(t.broker.stats.malformedPackets).toBe(1);
        await b.check();
      });

      for (const [name, firstByte] of [
        ["SUBSCRIBE flags 0000 [MQTT-3.8.1-1]", 0x80],
        ["SUBSCRIBE flags 0011 [MQTT-3.8.1-1]", 0x83],
        ["UNSUBSCRIBE flags 0000 [MQTT-3.10.1-1]", 0xa0],
        ["PUBREL flags 0000 [MQTT-3.6.1-1]", 0x60],
        ["PINGREQ flags 0001 [MQTT-2.1.3-1]", 0xc1],
      ] as const) {
        it(`reserved fixed-header flag bits: ${name} -> 0x81`, async (ctx) => {
          const t = await brokerFor(ctx);
          const b = await bystanders(t);
          const c = await connectRaw(t, v, { clientId: "flags" });
          const body =
            firstByte >> 4 === 8
              ? Buffer.concat([Buffer.from([0x00, 0x01]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), mqttString("f/#"), Buffer.from([0])])
              : firstByte >> 4 === 10
                ? Buffer.concat([Buffer.from([0x00, 0x01]), v === 5 ? Buffer.from([0]) : Buffer.alloc(0), mqttString("f/#")])
                : firstByte >> 4 === 6
                  ? Buffer.from([0x00, 0x01])
                  : Buffer.alloc(0);
          c.write(frame(firstByte, body));
          await expectClosed(c, v, 0x81);
          // The SUBSCRIBE was not applied.
          expect(t.broker.stats.subscriptions).toBe(2);
          await b.check();
        });
      }

      it("[MQTT-3.3.1-4] a PUBLISH with both QoS bits set is malformed -> 0x81, not routed", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "qos3" });
        c.write(frame(0x36, mqttString("q/3"), [0x00, 0x01], v === 5 ? [0x00] : [], Buffer.from("x")));
        await expectClosed(c, v, 0x81);
        await noMessage(b.watcher, 100);
        await b.check();
      });

      it("[MQTT-1.5.4-1] [MQTT-3.3.2-1] ill-formed UTF-8 in a PUBLISH topic (0xC3 0x28) -> v5 0x90, v3 close; not routed", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "utf8" });
        c.write(rawPublish(v, Buffer.from([0x61, 0x2f, 0xc3, 0x28])));
        await expectClosed(c, v, 0x90);
        await noMessage(b.watcher, 100);
        await b.check();
      });

      it("[MQTT-1.5.4-1] an encoded UTF-16 surrogate (0xED 0xA0 0x80) in a PUBLISH topic -> v5 0x90, v3 close", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "surrogate" });
        c.write(rawPublish(v, Buffer.from([0x61, 0xed, 0xa0, 0x80])));
        await expectClosed(c, v, 0x90);
        await b.check();
      });

      it("[MQTT-1.5.4-2] U+0000 in a PUBLISH topic -> v5 0x90, v3 close", async (ctx) => {
        const t = await brokerFor(ctx);
        const c = await connectRaw(t, v, { clientId: "nul" });
        c.write(rawPublish(v, Buffer.from([0x61, 0x00, 0x62])));
        await expectClosed(c, v, 0x90);
      });

      for (const topic of ["w/+", "w/#", "+", "#", "a/b+"]) {
        it(`[MQTT-3.3.2-2] a wildcard in a PUBLISH topic name (${topic}) -> v5 0x90, v3 close; not routed`, async (ctx) => {
          const t = await brokerFor(ctx);
          const b = await bystanders(t);
          const c = await connectRaw(t, v, { clientId: "wild" });
          c.write(rawPublish(v, topic));
          await expectClosed(c, v, 0x90);
          await noMessage(b.watcher, 100);
          await b.check();
        });
      }

      it("[MQTT-1.5.4-1] ill-formed UTF-8 in a SUBSCRIBE topic filter closes the connection (v5 0x81)", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "utf8-sub" });
        c.write(frame(0x82, [0x00, 0x01], v === 5 ? [0x00] : [], mqttString(Buffer.from([0x61, 0xc3, 0x28])), [0x00]));
        await expectClosed(c, v, 0x81);
        expect(t.broker.stats.subscriptions).toBe(2);
        await b.check();
      });

      it("[MQTT-1.5.4-1] ill-formed UTF-8 in an UNSUBSCRIBE topic filter closes the connection (v5 0x81)", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        // A persistent session, so its subscriptions outlive the connection.
        const c = await connectRaw(t, v, { clientId: "utf8-unsub", clean: v === 5, properties: v === 5 ? { sessionExpiryInterval: 60 } : undefined });
        c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "keep/t", qos: 0 }] });
        await c.nextPacket("suback");
        c.write(frame(0xa2, [0x00, 0x02], v === 5 ? [0x00] : [], mqttString("keep/t"), mqttString(Buffer.from([0xff, 0xfe]))));
        await expectClosed(c, v, 0x81);
        // Nothing of the packet was applied.
        expect([...(t.broker.sessions.get("utf8-unsub")?.subscriptions.keys() ?? [])]).toEqual(["keep/t"]);
        await b.check();
      });

      it("[MQTT-3.1.0-2] a second CONNECT is a protocol error -> v5 0x82, v3 close", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "second" });
        c.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: v, clientId: "second", clean: true, keepalive: 0 });
        await expectClosed(c, v, 0x82);
        await b.check();
      });

      for (const packet of [
        { cmd: "connack", sessionPresent: false, returnCode: 0, reasonCode: 0 },
        { cmd: "suback", messageId: 1, granted: [0] },
        { cmd: "unsuback", messageId: 1, granted: [0] },
        { cmd: "pingresp" },
      ] as Packet[]) {
        it(`a server-to-client packet (${packet.cmd.toUpperCase()}) from a client closes the connection (v5 0x82)`, async (ctx) => {
          const t = await brokerFor(ctx);
          const b = await bystanders(t);
          const c = await connectRaw(t, v, { clientId: `s2c-${packet.cmd}` });
          c.send(packet);
          await expectClosed(c, v, 0x82);
          await b.check();
        });
      }

      it("packet type 0 (reserved) is malformed -> 0x81", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "type0" });
        c.write([0x00, 0x00]);
        await expectClosed(c, v, 0x81);
        await b.check();
      });

      it("a packet after the offending one in the same write is not processed", async (ctx) => {
        const t = await brokerFor(ctx);
        const b = await bystanders(t);
        const c = await connectRaw(t, v, { clientId: "after" });
        const good = mqttPacket.generate(
          { cmd: "publish", topic: "after/t", payload: Buffer.from("late"), qos: 0, retain: false, dup: false },
          { protocolVersion: v },
        );
        c.write(Buffer.concat([rawPublish(v, "bad/+"), good]));
        await expectClosed(c, v, 0x90);
        await noMessage(b.watcher, 150);
        await b.check();
      });
    });
  }

  it("v3.1.1: AUTH (type 15) does not exist and closes the connection", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const c = await connectRaw(t, 4, { clientId: "auth4" });
    c.write([0xf0, 0x00]);
    await expectClosed(c, 4, 0);
    await b.check();
  });

  it("v5: an AUTH without enhanced authentication in progress is a protocol error -> 0x82", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "auth5" });
    c.send({ cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "X" } });
    await expectClosed(c, 5, 0x82);
  });

  it("v5: a PUBACK with an undefined reason code is malformed -> 0x81", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "bad-rc" });
    c.write([0x40, 0x03, 0x00, 0x01, 0x05]);
    await expectClosed(c, 5, 0x81);
  });
});

describe("13 malformed property values (v5)", () => {
  it("§2.2.2.2: a Content Type given twice is a protocol error -> 0x82; the message is not routed", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const c = await connectRaw(t, 5, { clientId: "dup-prop" });
    const props = Buffer.concat([Buffer.from([0x03]), mqttString("a/b"), Buffer.from([0x03]), mqttString("c/d")]);
    c.write(frame(0x32, mqttString("dup/t"), [0x00, 0x01], varint(props.length), props, Buffer.from("x")));
    await expectClosed(c, 5, 0x82);
    await noMessage(b.watcher, 100);
    await b.check();
  });

  it("a property string running past the end of the packet is malformed -> 0x81; the message is not routed", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const c = await connectRaw(t, 5, { clientId: "trunc-prop" });
    // Content Type whose declared length (0xFFFF) overruns the packet.
    c.write(frame(0x30, mqttString("trunc/t"), varint(3), [0x03, 0xff, 0xff], Buffer.from("payload")));
    await expectClosed(c, 5, 0x81);
    await noMessage(b.watcher, 100);
    await b.check();
  });

  it("a truncated user property is malformed -> 0x81", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const c = await connectRaw(t, 5, { clientId: "trunc-user" });
    c.write(frame(0x30, mqttString("tu/t"), varint(3), [0x26, 0xff, 0xff], Buffer.from("payload")));
    await expectClosed(c, 5, 0x81);
    await noMessage(b.watcher, 100);
    await b.check();
  });

  it("a will whose properties are truncated is refused at CONNECT, so it can never be published", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const c = await openRaw(t, 5);
    // CONNECT v5, flags: will + clean start, keep alive 0, no properties, client id "w",
    // will properties: Content Type with an overrunning length, will topic "will/t", payload "bye".
    c.write(
      frame(0x10, mqttString("MQTT"), [0x05, 0x06, 0x00, 0x00], [0x00], mqttString("w"), [0x03, 0x03, 0xff, 0xff], mqttString("will/t"), mqttString("bye")),
    );
    await c.closed(2000);
    const connack = c.received[0];
    if (connack) {
      expect(connack.cmd).toBe("connack");
      expect((connack as { reasonCode?: number }).reasonCode).toBeGreaterThanOrEqual(0x80);
    }
    await noMessage(b.watcher, 200);
    await b.check();
  });
});

describe("13 CONNECT problems", () => {
  it("[MQTT-3.1.0-1] packets before CONNECT close the connection without a reply", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const first: Packet[] = [
      { cmd: "publish", topic: "early/t", payload: Buffer.from("x"), qos: 0, retain: false, dup: false },
      { cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "#", qos: 0 }] },
      { cmd: "pingreq" },
      { cmd: "disconnect" },
      { cmd: "puback", messageId: 1 },
    ];
    for (const packet of first) {
      const c = await openRaw(t, 4);
      c.send(packet);
      await expectDropped(c);
    }
    await noMessage(b.watcher, 100);
    expect(t.broker.stats.subscriptions).toBe(2);
    await b.check();
  });

  it("[MQTT-3.1.2-1] an unknown protocol name closes the connection without CONNACK", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    for (const name of ["MQTX", "mqtt", "HTTP"]) {
      const c = await openRaw(t, 4);
      c.write(frame(0x10, mqttString(name), [0x04, 0x02, 0x00, 0x3c], mqttString("c")));
      await expectDropped(c);
    }
    await b.check();
  });

  it("[MQTT-3.1.2-1] a protocol name that does not match the level (MQIsdp/4, MQTT/3) is refused with CONNACK 0x01", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    for (const [name, level] of [
      ["MQIsdp", 4],
      ["MQTT", 3],
    ] as const) {
      const c = await openRaw(t, 4);
      c.write(frame(0x10, mqttString(name), [level, 0x02, 0x00, 0x3c], mqttString("c")));
      const connack = await c.nextPacket("connack");
      expect(connack.returnCode).toBe(1);
      await c.closed();
    }
    await b.check();
  });

  it("[MQTT-3.1.2-2] an unsupported protocol level gets CONNACK 0x01 (v3.1.1 format), then the connection closes", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    for (const level of [0, 2, 6, 0x7f]) {
      const c = await openRaw(t, 4);
      const bytes: Buffer[] = [];
      c.socket.on("data", (chunk: Buffer) => bytes.push(chunk));
      c.write(frame(0x10, mqttString("MQTT"), [level, 0x02, 0x00, 0x3c], mqttString("c")));
      await c.closed();
      expect([...Buffer.concat(bytes)]).toEqual([0x20, 0x02, 0x00, 0x01]);
    }
    await b.check();
  });

  it("[MQTT-3.1.2-3] the reserved CONNECT flag set closes the connection without CONNACK", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    for (const v of VERSIONS) {
      const c = await openRaw(t, v);
      c.write(frame(0x10, mqttString("MQTT"), [v, 0x03, 0x00, 0x3c], v === 5 ? [0x00] : [], mqttString("c")));
      await expectDropped(c);
    }
    await b.check();
  });

  it("truncated CONNECTs (fields missing, strings overrunning the packet) close the connection without CONNACK", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const cases: Buffer[] = [
      // No client id.
      frame(0x10, mqttString("MQTT"), [0x04, 0x02, 0x00, 0x3c]),
      // Stops after the protocol level.
      frame(0x10, mqttString("MQTT"), [0x04]),
      // Protocol name length overruns the packet.
      frame(0x10, [0x00, 0x20], Buffer.from("MQTT")),
      // v5 without the properties length and client id.
      frame(0x10, mqttString("MQTT"), [0x05, 0x02, 0x00, 0x3c]),
      // Client id length overruns.
      frame(0x10, mqttString("MQTT"), [0x04, 0x02, 0x00, 0x3c], [0x00, 0x09, 0x61]),
      // Username flag set but no username.
      frame(0x10, mqttString("MQTT"), [0x04, 0x82, 0x00, 0x3c], mqttString("c")),
    ];
    for (const bytes of cases) {
      const c = await openRaw(t, 4);
      c.write(bytes);
      await expectDropped(c);
    }
    await b.check();
  });

  it("a CONNECT cut off mid-packet by the client (FIN) is not answered and the connection closes", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    const c = await openRaw(t, 4);
    const bytes = mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "cut", clean: true, keepalive: 0 });
    c.write(bytes.subarray(0, bytes.length - 2));
    c.end();
    await expectDropped(c);
    expect(t.broker.stats.connections).toBe(3);
    await b.check();
  });

  it("[MQTT-3.1.2-12] Will QoS 3 is refused at CONNECT and the connection closes", async (ctx) => {
    const t = await brokerFor(ctx);
    const b = await bystanders(t);
    for (const v of VERSIONS) {
      const c = await openRaw(t, v);
      // Flags: will QoS 3 (0x18) + will flag (0x04) + clean (0x02).
      c.write(frame(0x10, mqttString("MQTT"), [v, 0x1e, 0x00, 0x3c], v === 5 ? [0x00] : [], mqttString("c"), v === 5 ? [0x00] : [], mqttString("w/t"), mqttString("x")));
      await c.closed();
      for (const p of c.received) {
        expect(p.cmd).toBe("connack");
        const code = v === 5 ? (p as { reasonCode?: number }).reasonCode : (p as { returnCode?: number }).returnCode;
        expect(code).not.toBe(0);
      }
    }
    await b.check();
  });
});

describe("13 oversized packets", () => {
  for (const v of VERSIONS) {
    it(`v${v}: a declared length above maxPacketSize closes the connection at once, before the body arrives`, async (ctx) => {
      const t = await brokerFor(ctx, { maxPacketSize: 4096 });
      const b = await bystanders(t);
      const c = await connectRaw(t, v, { clientId: "huge" });
      const started = Date.now();
      // PUBLISH declaring 200 MB, followed by only a few bytes of it.
      c.write(Buffer.concat([Buffer.from([0x30]), varint(200 * 1024 * 1024), mqttString("h/t"), Buffer.alloc(16)]));
      await expectClosed(c, v, 0x95);
      expect(Date.now() - started).toBeLessThan(1000);
      await b.check();
    });
  }

  it("the body of an oversized packet is not buffered: streaming it on after the refusal is ignored", async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 4096 });
    const b = await bystanders(t);
    const c = await connectRaw(t, 5, { clientId: "stream" });
    const baseline = t.broker.stats.bytesReceived;
    c.write(Buffer.concat([Buffer.from([0x30]), varint(8 * 1024 * 1024), mqttString("s/t")]));
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    while (!c.isClosed && sent < 8 * 1024 * 1024) {
      if (!c.socket.write(chunk)) await Promise.race([new Promise((r) => c.socket.once("drain", r)), delay(50)]);
      sent += chunk.length;
      if (sent % (1024 * 1024) === 0) await delay(5);
    }
    await c.closed(3000).catch(() => c.destroy());
    // The broker read at most a few chunks before it stopped counting (and parsing).
    expect(t.broker.stats.bytesReceived - baseline).toBeLessThan(512 * 1024);
    const d = c.received.find((p) => p.cmd === "disconnect") as { reasonCode?: number } | undefined;
    expect(d?.reasonCode).toBe(0x95);
    await b.check();
  });

  it("an oversized CONNECT is dropped without CONNACK", async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 1024 });
    const b = await bystanders(t);
    const c = await openRaw(t, 5);
    c.write(Buffer.concat([Buffer.from([0x10]), varint(1024 * 1024), mqttString("MQTT"), Buffer.from([5])]));
    await expectDropped(c);
    await b.check();
  });
});

// ---- fuzzing -------------------------------------------------------------------

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function templates(version: Version): Buffer[] {
  const props5 = version === 5;
  const packets: Packet[] = [
    {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: version,
      clientId: "fz",
      clean: true,
      keepalive: 30,
      username: "u",
      password: Buffer.from("p"),
      will: {
        topic: "fuzz/will",
        payload: Buffer.from("bye"),
        qos: 1,
        retain: false,
        ...(props5 ? { properties: { willDelayInterval: 0, contentType: "t/p", userProperties: { a: "b" } } } : {}),
      },
      ...(props5 ? { properties: { sessionExpiryInterval: 10, receiveMaximum: 5, topicAliasMaximum: 3, maximumPacketSize: 5000 } } : {}),
    },
    {
      cmd: "publish",
      topic: "fuzz/a/b",
      payload: Buffer.from("hello fuzz"),
      qos: 1,
      messageId: 7,
      retain: true,
      dup: false,
      ...(props5
        ? {
            properties: {
              payloadFormatIndicator: true,
              messageExpiryInterval: 60,
              topicAlias: 2,
              responseTopic: "fuzz/r",
              correlationData: Buffer.from([1, 2, 3]),
              contentType: "text/plain",
              userProperties: { k: ["v1", "v2"], x: "y" },
            },
          }
        : {}),
    },
    { cmd: "publish", topic: "fuzz/q2", payload: Buffer.from("two"), qos: 2, messageId: 9, retain: false, dup: false },
    {
      cmd: "subscribe",
      messageId: 3,
      subscriptions: [
        { topic: "fuzz/#", qos: 2, ...(props5 ? { nl: true, rap: true, rh: 1 } : {}) },
        { topic: "$share/g/fuzz/+", qos: 1 },
      ],
      ...(props5 ? { properties: { subscriptionIdentifier: 300, userProperties: { s: "t" } } } : {}),
    },
    { cmd: "unsubscribe", messageId: 4, unsubscriptions: ["fuzz/#", "$share/g/fuzz/+"] },
    { cmd: "puback", messageId: 1 },
    { cmd: "pubrec", messageId: 1 },
    { cmd: "pubrel", messageId: 9 },
    { cmd: "pubcomp", messageId: 1 },
    { cmd: "pingreq" },
    { cmd: "disconnect", ...(props5 ? { reasonCode: 4, properties: { sessionExpiryInterval: 0, reasonString: "r" } } : {}) },
  ];
  if (props5) packets.push({ cmd: "auth", reasonCode: 0x18, properties: { authenticationMethod: "m", authenticationData: Buffer.from([1]) } });
  return packets.map((p) => mqttPacket.generate(p, { protocolVersion: version }));
}

function mutate(bytes: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(bytes);
  const int = (n: number) => Math.floor(rand() * n);
  switch (int(7)) {
    case 0: {
      // Flip a few bits.
      for (let i = 0, n = 1 + int(3); i < n; i++) {
        const at = int(out.length);
        out[at] = (out[at] ?? 0) ^ (1 << int(8));
      }
      return out;
    }
    case 1: {
      // Overwrite a byte, often a length or property id.
      out[int(out.length)] = int(256);
      return out;
    }
    case 2:
      return out.subarray(0, int(out.length));
    case 3:
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)))]);
    case 4: {
      // Keep the declared length, change the type/flags byte.
      out[0] = int(256);
      return out;
    }
    case 5: {
      // A string or binary length that overruns the packet.
      const at = 2 + int(Math.max(1, out.length - 3));
      out[at] = 0xff;
      if (at + 1 < out.length) out[at + 1] = 0xff;
      return out;
    }
    default: {
      const at = 1 + int(Math.max(1, out.length - 1));
      return Buffer.concat([out.subarray(0, at), Buffer.from([int(256)]), out.subarray(at)]);
    }
  }
}

describe("13 fuzz", () => {
  it("random bytes and mutated packets never take the broker down (fixed seed)", { timeout: 20_000 }, async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 64 * 1024, connectTimeoutMs: 2000 });
    const b = await bystanders(t);
    const rand = prng(0x5eed1234);
    const int = (n: number) => Math.floor(rand() * n);
    const tpl: Record<Version, Buffer[]> = { 4: templates(4), 5: templates(5) };
    const ITERATIONS = 600;
    const BATCH = 20;
    const baseline = t.broker.channels.size;
    let internalErrors = 0;

    async function one(i: number): Promise<void> {
      const version: Version = rand() < 0.5 ? 4 : 5;
      const chunks: Buffer[] = [];
      const list = tpl[version];
      if (rand() < 0.3) {
        // A damaged CONNECT as the very first packet (wills, properties, flags).
        chunks.push(mutate(list[0] as Buffer, rand));
      } else if (rand() < 0.9) {
        const props = version === 5 && rand() < 0.5 ? { properties: { topicAliasMaximum: int(4), receiveMaximum: 1 + int(3) } } : {};
        chunks.push(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: version, clientId: `fz-${i}`, clean: true, keepalive: 0, ...props }, { protocolVersion: version }));
      }
      for (let k = 0, n = 1 + int(4); k < n; k++) {
        if (rand() < 0.35) {
          chunks.push(Buffer.from(Array.from({ length: 1 + int(48) }, () => int(256))));
        } else {
          const base = list[int(list.length)] as Buffer;
          chunks.push(rand() < 0.85 ? mutate(base, rand) : base);
        }
      }
      const socket = await t.raw();
      socket.on("error", () => undefined);
      // Oracle: an internal error (0x83) means an exception escaped a handler.
      const replies = mqttPacket.parser({ protocolVersion: 5 });
      replies.on("error", () => undefined);
      replies.on("packet", (p: Packet) => {
        if (version === 5 && p.cmd === "disconnect" && p.reasonCode === 0x83) internalErrors++;
      });
      socket.on("data", (chunk: Buffer) => replies.parse(chunk));
      for (const chunk of chunks) {
        if (socket.destroyed) break;
        socket.write(chunk);
        if (rand() < 0.3) await delay(1);
      }
      await delay(5 + int(10));
      socket.destroy();
    }

    for (let i = 0; i < ITERATIONS; i += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, (_, k) => one(i + k)));
      await b.check();
    }
    await until(() => t.broker.channels.size === baseline, 5000, "fuzz connections to be released");
    expect(internalErrors).toBe(0);
    expect(t.broker.stats.malformedPackets).toBeGreaterThan(50);
    expect(b.watcher.connected).toBe(true);
    await b.check();
  });
});
