import { describe, expect, it } from "vitest";
import { ReasonCode } from "../src/reason-codes.ts";
import { brokerFor, delay } from "./core-util.ts";
import { connectRaw, openRaw, type PacketOf } from "./raw-client.ts";

/**
 * Broker#updateOptions (configuration reload without a restart) and server
 * DISCONNECT with a Server Reference at close. New limits apply to the next
 * packet, delivery or connection; a connected client keeps the limits its
 * CONNACK gave it.
 */

type Publish = PacketOf<"publish">;

function publish(topic: string, payload: string | Buffer, qos: 0 | 1 | 2, messageId?: number): Publish {
  const p: Publish = { cmd: "publish", topic, payload: Buffer.from(payload), qos, retain: false, dup: false };
  if (messageId !== undefined) p.messageId = messageId;
  return p;
}

describe("17 runtime options", () => {
  it("a new Maximum Packet Size, Receive Maximum and Topic Alias Maximum apply to the next connection only", async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 1000, receiveMaximum: 100, topicAliasMaximum: 10 });
    const before = await openRaw(t, 5);
    const first = await before.connect({ clientId: "before" });
    expect(first.properties?.maximumPacketSize).toBe(1000);
    expect(first.properties?.receiveMaximum).toBe(100);

    t.broker.updateOptions({ maxPacketSize: 200, receiveMaximum: 2, topicAliasMaximum: 3 });

    const after = await openRaw(t, 5);
    const second = await after.connect({ clientId: "after" });
    expect(second.properties?.maximumPacketSize).toBe(200);
    expect(second.properties?.receiveMaximum).toBe(2);
    expect(second.properties?.topicAliasMaximum).toBe(3);

    // The first client keeps what it was told: 500-byte packets, three unacknowledged QoS 2, alias 5.
    before.send({ ...publish("old/a", "x".repeat(500), 2, 1), properties: { topicAlias: 5 } });
    before.send(publish("old/a", "2", 2, 2));
    before.send(publish("old/a", "3", 2, 3));
    expect((await before.nextPackets(3, "pubrec")).map((p) => p.messageId)).toEqual([1, 2, 3]);

    // The second client is held to the new ones: a third unreleased QoS 2 PUBLISH is 0x93.
    after.send(publish("new/a", "1", 2, 1));
    after.send(publish("new/a", "2", 2, 2));
    await after.nextPackets(2, "pubrec");
    after.send(publish("new/a", "3", 2, 3));
    expect((await after.nextPacket("disconnect")).reasonCode).toBe(ReasonCode.ReceiveMaximumExceeded);

    // And a packet over the new size from a third one is 0x95.
    const third = await connectRaw(t, 5, { clientId: "third" });
    third.send(publish("new/b", "x".repeat(300), 0));
    expect((await third.nextPacket("disconnect")).reasonCode).toBe(ReasonCode.PacketTooLarge);
  });

  it("a smaller queue limit and drop-oldest apply to the next delivery of an existing session", async (ctx) => {
    const t = await brokerFor(ctx, { maxQueuedMessages: 100 });
    const sub = await t.connect({ clientId: "q-sub", clean: false, properties: { sessionExpiryInterval: 300 } });
    await sub.subscribeAsync("q/#", { qos: 1 });
    await sub.endAsync();
    const pub = await t.connect({ clientId: "q-pub" });
    for (let i = 0; i < 3; i++) await pub.publishAsync("q/x", `a${i}`, { qos: 1 });

    t.broker.updateOptions({ maxQueuedMessages: 2, queueOverflow: "drop-oldest" });
    for (let i = 0; i < 2; i++) await pub.publishAsync("q/x", `b${i}`, { qos: 1 });
    expect(t.broker.stats.drops["queue-full"]).toBe(3);

    const back = await connectRaw(t, 5, { clientId: "q-sub", clean: false, properties: { sessionExpiryInterval: 300 } });
    const got = await back.nextPackets(2, "publish");
    expect(got.map((m) => m.payload.toString())).toEqual(["b0", "b1"]);
    await back.noPacket(100);
  });

  it("refuses invalid values as a whole and changes nothing", async (ctx) => {
    const t = await brokerFor(ctx, { maxPacketSize: 1000 });
    expect(() => t.broker.updateOptions({ maxPacketSize: 500, receiveMaximum: 0 })).toThrow(/receiveMaximum/);
    expect(() => t.broker.updateOptions({ queueOverflow: "drop-all" as never })).toThrow(/queueOverflow/);
    expect(() => t.broker.updateOptions({ maximumQoS: 1 } as never)).toThrow(/maximumQoS cannot be changed/);
    expect(t.broker.options.maxPacketSize).toBe(1000);
    expect(t.broker.options.receiveMaximum).toBe(1024);
  });
});

describe("17 close with a server reference", () => {
  it("v5 clients get DISCONNECT 0x9C with the Server Reference; v3 clients are closed", async (ctx) => {
    const t = await brokerFor(ctx);
    const v5 = await connectRaw(t, 5, { clientId: "moved-5" });
    const v3 = await connectRaw(t, 4, { clientId: "moved-3" });
    const closing = t.broker.close(ReasonCode.UseAnotherServer, 2000, "mqtt-b.example.com:1883");
    const d = await v5.nextPacket("disconnect");
    expect(d.reasonCode).toBe(0x9c);
    expect(d.properties?.serverReference).toBe("mqtt-b.example.com:1883");
    await v3.closed();
    expect(v3.received.filter((p) => p.cmd === "disconnect")).toEqual([]);
    await closing;
    await delay(10);
  });
});
