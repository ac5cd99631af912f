import { describe, expect, it } from "vitest";
import { brokerFor, delay } from "./core-util.ts";
import { nextMessages, noMessage } from "./harness.ts";
import { connectRaw, frame, mqttString, openRaw, varint, type PacketOf, type RawClient } from "./raw-client.ts";

/** PUBLISH properties passthrough (§3.3.2.3), CONNACK and DISCONNECT properties (§3.2.2.3, §3.14.2.2). */

async function subscribeRaw(c: RawClient, filter: string, qos: 0 | 1 | 2): Promise<void> {
  c.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: filter, qos }] });
  expect((await c.nextPacket("suback")).granted).toEqual([qos]);
}

function publish(topic: string, payload: Buffer, qos: 0 | 1 | 2, messageId?: number, properties?: PacketOf<"publish">["properties"]) {
  const p: PacketOf<"publish"> = { cmd: "publish", topic, payload, qos, retain: false, dup: false };
  if (messageId !== undefined) p.messageId = messageId;
  if (properties) p.properties = properties;
  return p;
}

/** A user property pair as it appears on the wire: 0x26, name, value. */
function userProperty(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x26]), mqttString(name), mqttString(value)]);
}

describe("14 application message properties", () => {
  it("request/response: response topic, correlation data, content type, payload format and user properties pass unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]", async (ctx) => {
    const t = await brokerFor(ctx);
    const responder = await t.connect({ clientId: "responder" });
    const requester = await t.connect({ clientId: "requester" });
    await responder.subscribeAsync("svc/time", { qos: 1 });
    await requester.subscribeAsync("reply/requester", { qos: 1 });
    const correlation = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);

    const request = nextMessages(responder, 1);
    await requester.publishAsync("svc/time", '{"tz":"UTC"}', {
      qos: 1,
      properties: {
        responseTopic: "reply/requester",
        correlationData: correlation,
        contentType: "application/json; charset=utf-8",
        payloadFormatIndicator: true,
        userProperties: { "trace-id": "abc-123", multi: ["one", "two", "three"], empty: "" },
      },
    });
    const [req] = await request;
    const props = req?.packet.properties;
    expect(req?.payload.toString()).toBe('{"tz":"UTC"}');
    expect(props?.responseTopic).toBe("reply/requester");
    expect(Buffer.compare(props?.correlationData as Buffer, correlation)).toBe(0);
    expect(props?.contentType).toBe("application/json; charset=utf-8");
    expect(props?.payloadFormatIndicator).toBe(true);
    expect(props?.userProperties).toEqual({ "trace-id": "abc-123", multi: ["one", "two", "three"], empty: "" });

    // The responder answers on the response topic, echoing the correlation data.
    const response = nextMessages(requester, 1);
    await responder.publishAsync(props?.responseTopic as string, "12:00", {
      qos: 1,
      properties: { correlationData: props?.correlationData as Buffer, contentType: "text/plain" },
    });
    const [res] = await response;
    expect(res?.topic).toBe("reply/requester");
    expect(res?.payload.toString()).toBe("12:00");
    expect(Buffer.compare(res?.packet.properties?.correlationData as Buffer, correlation)).toBe(0);
    expect(res?.packet.properties?.contentType).toBe("text/plain");
    // Nothing the responder did not send is added.
    expect(res?.packet.properties?.responseTopic).toBeUndefined();
    expect(res?.packet.properties?.userProperties).toBeUndefined();
    expect(res?.packet.properties?.payloadFormatIndicator).toBeUndefined();
  });

  it("properties reach every subscriber, and a retained message keeps them", async (ctx) => {
    const t = await brokerFor(ctx);
    const a = await connectRaw(t, 5, { clientId: "pa" });
    const b = await connectRaw(t, 5, { clientId: "pb" });
    await subscribeRaw(a, "pp/#", 0);
    await subscribeRaw(b, "pp/+", 1);
    const pub = await t.connect();
    await pub.publishAsync("pp/x", "v", {
      qos: 1,
      retain: true,
      properties: { contentType: "c/t", userProperties: { k: "v" }, responseTopic: "r/t" },
    });
    for (const c of [a, b]) {
      const p = await c.nextPacket("publish");
      expect(p.properties?.contentType).toBe("c/t");
      expect(p.properties?.userProperties).toEqual({ k: "v" });
      expect(p.properties?.responseTopic).toBe("r/t");
    }
    const late = await connectRaw(t, 5, { clientId: "pc" });
    await subscribeRaw(late, "pp/x", 0);
    const r = await late.nextPacket("publish");
    expect(r.retain).toBe(true);
    expect(r.properties?.contentType).toBe("c/t");
    expect(r.properties?.userProperties).toEqual({ k: "v" });
  });

  /** Publishes hand-built user properties (their order fixed on the wire) and returns the forwarded bytes. */
  async function forwardUserProperties(ctx: Parameters<typeof brokerFor>[0], pairs: [string, string][]) {
    const t = await brokerFor(ctx);
    const sub = await connectRaw(t, 5, { clientId: "order-sub" });
    await subscribeRaw(sub, "ord/t", 0);
    const wire: Buffer[] = [];
    sub.socket.on("data", (chunk: Buffer) => wire.push(chunk));
    const props = Buffer.concat(pairs.map(([k, v]) => userProperty(k, v)));
    const pub = await connectRaw(t, 5, { clientId: "order-pub" });
    pub.write(frame(0x30, mqttString("ord/t"), varint(props.length), props, Buffer.from("x")));
    const p = await sub.nextPacket("publish");
    return { props, forwarded: Buffer.concat(wire), parsed: p.properties?.userProperties };
  }

  it("[MQTT-3.3.2-18] user properties keep their order (distinct names, and values of a repeated name)", async (ctx) => {
    const { props, forwarded, parsed } = await forwardUserProperties(ctx, [
      ["zeta", "1"],
      ["alpha", "2"],
      ["alpha", "3"],
      ["mid", "4"],
    ]);
    expect(parsed).toEqual({ zeta: "1", alpha: ["2", "3"], mid: "4" });
    expect(forwarded.includes(props)).toBe(true);
  });

  // Known violation, kept as an expected failure until fixed: the mqtt-packet
  // codec turns user properties into an object (name -> value | values), so a
  // name repeated after another name, or an integer-like name, comes out
  // regrouped/reordered. Fixing it needs an order-preserving decode and encode
  // of User Properties. Turn `it.fails` into `it` once it passes.
  it.fails("[MQTT-3.3.2-18] user properties keep their order with interleaved repeated names (codec limitation)", async (ctx) => {
    const { props, forwarded } = await forwardUserProperties(ctx, [
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
      ["c", "4"],
    ]);
    expect(forwarded.includes(props)).toBe(true);
  });

  it("[MQTT-3.3.2-4] Payload Format Indicator 1 with a payload that is not UTF-8 -> PUBACK/PUBREC 0x99, not forwarded", async (ctx) => {
    const t = await brokerFor(ctx);
    const watcher = await t.connect();
    await watcher.subscribeAsync("pfi/#", { qos: 1 });
    const c = await connectRaw(t, 5, { clientId: "pfi" });
    const bad = Buffer.from([0x68, 0xc3, 0x28, 0xff]);
    c.send(publish("pfi/a", bad, 1, 1, { payloadFormatIndicator: true }));
    const puback = await c.nextPacket("puback");
    expect([puback.messageId, puback.reasonCode]).toEqual([1, 0x99]);
    c.send(publish("pfi/b", bad, 2, 2, { payloadFormatIndicator: true }));
    const pubrec = await c.nextPacket("pubrec");
    expect([pubrec.messageId, pubrec.reasonCode]).toEqual([2, 0x99]);
    c.send(publish("pfi/c", bad, 0, undefined, { payloadFormatIndicator: true }));
    await noMessage(watcher, 200);

    // The same bytes without the indicator, and valid UTF-8 with it, are fine.
    const got = nextMessages(watcher, 2);
    c.send(publish("pfi/d", bad, 1, 3));
    expect((await c.nextPacket("puback")).reasonCode).toBe(0);
    c.send(publish("pfi/e", Buffer.from("héllo ✓"), 1, 4, { payloadFormatIndicator: true }));
    expect((await c.nextPacket("puback")).reasonCode).toBe(0);
    const msgs = await got;
    expect(msgs.map((m) => [m.topic, m.packet.properties?.payloadFormatIndicator])).toEqual([
      ["pfi/d", undefined],
      ["pfi/e", true],
    ]);
    // The connection stays up after a 0x99: the error is per message.
    c.send({ cmd: "pingreq" });
    await c.nextPacket("pingresp");
  });

  it("a QoS 1 PUBLISH nobody subscribes to is acknowledged with 0x10 No matching subscribers", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "nomatch" });
    c.send(publish("nobody/here", Buffer.from("x"), 1, 1));
    const ack = await c.nextPacket("puback");
    expect(ack.reasonCode).toBe(0x10);
  });
});

describe("14 CONNACK properties", () => {
  it("[MQTT-3.2.2-16] an empty client id gets an Assigned Client Identifier that then names the session", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "", properties: { sessionExpiryInterval: 30 } });
    expect(connack.reasonCode).toBe(0);
    const assigned = connack.properties?.assignedClientIdentifier as string;
    expect(assigned).toMatch(/^halyard-[0-9a-f-]{36}$/);
    expect(t.broker.connected.has(assigned)).toBe(true);
    c.send({ cmd: "disconnect", reasonCode: 0 });
    await c.closed();

    // Reconnecting with that id resumes the session and assigns nothing new.
    const again = await openRaw(t, 5);
    const resumed = await again.connect({ clientId: assigned, clean: false, properties: { sessionExpiryInterval: 30 } });
    expect(resumed.sessionPresent).toBe(true);
    expect(resumed.properties?.assignedClientIdentifier).toBeUndefined();

    const other = await openRaw(t, 5);
    const second = await other.connect({ clientId: "" });
    expect(second.properties?.assignedClientIdentifier).not.toBe(assigned);
  });

  it("[MQTT-3.2.2-16] the prefix of assigned ids is configurable", async (ctx) => {
    const t = await brokerFor(ctx, { assignedClientIdPrefix: "auto/" });
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "" });
    expect(connack.properties?.assignedClientIdentifier?.startsWith("auto/")).toBe(true);
  });

  it("a Session Expiry Interval above maxSessionExpiryInterval is capped and the cap reported in CONNACK", async (ctx) => {
    const t = await brokerFor(ctx, { maxSessionExpiryInterval: 60 });
    const over = await openRaw(t, 5);
    const ack1 = await over.connect({ clientId: "cap-over", properties: { sessionExpiryInterval: 3600 } });
    expect(ack1.properties?.sessionExpiryInterval).toBe(60);
    expect(t.broker.sessions.get("cap-over")?.expiryInterval).toBe(60);

    const under = await openRaw(t, 5);
    const ack2 = await under.connect({ clientId: "cap-under", properties: { sessionExpiryInterval: 30 } });
    // Not reported when the client's value is used as is (§3.2.2.3.2).
    expect(ack2.properties?.sessionExpiryInterval).toBeUndefined();
    expect(t.broker.sessions.get("cap-under")?.expiryInterval).toBe(30);

    const never = await openRaw(t, 5);
    const ack3 = await never.connect({ clientId: "cap-never", properties: { sessionExpiryInterval: 0xffffffff } });
    expect(ack3.properties?.sessionExpiryInterval).toBe(60);
  });

  it("CONNACK carries Maximum Packet Size, Topic Alias Maximum, Receive Maximum, Maximum QoS, Retain Available as configured", async (ctx) => {
    const t = await brokerFor(ctx, {
      maxPacketSize: 2048,
      topicAliasMaximum: 7,
      receiveMaximum: 20,
      maximumQoS: 1,
      retainAvailable: false,
    });
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "caps" });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.maximumPacketSize).toBe(2048);
    expect(connack.properties?.topicAliasMaximum).toBe(7);
    expect(connack.properties?.receiveMaximum).toBe(20);
    expect(connack.properties?.maximumQoS).toBe(1);
    expect(connack.properties?.retainAvailable).toBe(false);
    // Features that are available are not listed (absent means available).
    expect(connack.properties?.wildcardSubscriptionAvailable).toBeUndefined();
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
    expect(connack.properties?.sharedSubscriptionAvailable).toBeUndefined();
  });

  it("CONNACK with the defaults: Receive Maximum 1024, Maximum Packet Size 1 MiB, Topic Alias Maximum 65535", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await openRaw(t, 5);
    const connack = await c.connect({ clientId: "defaults" });
    expect(connack.properties?.receiveMaximum).toBe(1024);
    expect(connack.properties?.maximumPacketSize).toBe(1024 * 1024);
    expect(connack.properties?.topicAliasMaximum).toBe(65535);
    expect(connack.properties?.maximumQoS).toBeUndefined();
    expect(connack.properties?.retainAvailable).toBeUndefined();
  });
});

describe("14 server DISCONNECT", () => {
  it("broker.close() sends DISCONNECT 0x8B Server shutting down to v5 clients and closes v3 clients", async (ctx) => {
    const t = await brokerFor(ctx);
    const v5 = await connectRaw(t, 5, { clientId: "shut-5" });
    const v4 = await connectRaw(t, 4, { clientId: "shut-4" });
    const mqttjs = await t.connect({ clientId: "shut-js" });
    const jsDisconnect = new Promise<number | undefined>((resolve) => mqttjs.once("disconnect", (p) => resolve(p.reasonCode)));
    await t.broker.close();
    const d = await v5.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x8b);
    await v5.closed();
    await v4.closed();
    expect(v4.received).toEqual([{ ...v4.received[0], cmd: "connack" }]);
    expect(await jsDisconnect).toBe(0x8b);
  });

  it("a connection accepted while the broker is closing is turned away without a CONNACK", async (ctx) => {
    const t = await brokerFor(ctx);
    await t.broker.close();
    const c = await openRaw(t, 5);
    c.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "late", clean: true, keepalive: 0 });
    await c.closed();
    // DISCONNECT is only sent after a CONNACK [MQTT-3.14.0-1].
    expect(c.received).toEqual([]);
  });

  it("a server DISCONNECT carries a Reason String when Request Problem Information is on (the default)", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "rpi-on" });
    c.send(publish("x", Buffer.from("y"), 0, undefined, { topicAlias: 0 }));
    const d = await c.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x94);
    expect(typeof d.properties?.reasonString).toBe("string");
    expect(d.properties?.reasonString).toContain("Topic Alias 0");
    await c.closed();
  });

  it("reason strings are given for protocol errors and malformed packets too", async (ctx) => {
    const t = await brokerFor(ctx);
    const a = await connectRaw(t, 5, { clientId: "rs-a" });
    a.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: "rs-a", clean: true, keepalive: 0 });
    const da = await a.nextPacket("disconnect");
    expect(da.reasonCode).toBe(0x82);
    expect(da.properties?.reasonString?.length ?? 0).toBeGreaterThan(0);

    const b = await connectRaw(t, 5, { clientId: "rs-b" });
    b.write([0x30 | 0x06, 0x03, 0x00, 0x01, 0x61]); // QoS 3
    const db = await b.nextPacket("disconnect");
    expect(db.reasonCode).toBe(0x81);
    expect(db.properties?.reasonString?.length ?? 0).toBeGreaterThan(0);
  });

  it("[MQTT-3.1.2-29] with Request Problem Information 0 the DISCONNECT has no Reason String", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "rpi-off", properties: { requestProblemInformation: false } });
    c.send(publish("x", Buffer.from("y"), 0, undefined, { topicAlias: 0 }));
    const d = await c.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x94);
    expect(d.properties?.reasonString).toBeUndefined();
    await c.closed();
  });

  it("[MQTT-3.14.2-3] no Reason String when it would make the DISCONNECT larger than the client's Maximum Packet Size", async (ctx) => {
    const t = await brokerFor(ctx);
    const c = await connectRaw(t, 5, { clientId: "rs-small", properties: { maximumPacketSize: 16 } });
    c.send(publish("x", Buffer.from("y"), 0, undefined, { topicAlias: 0 }));
    const d = await c.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x94);
    expect(d.properties?.reasonString).toBeUndefined();
    await c.closed();
  });

  it("session takeover sends DISCONNECT 0x8E to the old v5 connection [MQTT-3.1.4-3]", async (ctx) => {
    const t = await brokerFor(ctx);
    const first = await connectRaw(t, 5, { clientId: "dup-id" });
    await connectRaw(t, 5, { clientId: "dup-id" });
    const d = await first.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x8e);
    await first.closed();
    await delay(10);
    expect(t.broker.stats.connections).toBe(1);
  });
});
