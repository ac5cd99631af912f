import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import type { BrokerOptions } from "@halyard/engine";
import { startBroker, type TestBroker } from "../../engine/test/harness.ts";
import { RawClient } from "./raw.ts";
import { openLmdb, removeDir, sleep, tempDir, until } from "./util.ts";

/**
 * Broker restarts over one LMDB data directory [MQTT-4.1]: what a client was
 * promised before `Broker#close` (retained messages, persistent sessions with
 * their subscriptions, queues and QoS 2 state, delayed wills) is there after
 * `Broker#open` of a new broker on a reopened store, with expiry counted
 * across the downtime.
 */

const EXPIRY = 300;

const dirs: string[] = [];
const brokers = new Set<TestBroker>();
const clients = new Set<MqttClient>();
const raws = new Set<RawClient>();

afterEach(async () => {
  for (const c of clients) c.end(true);
  clients.clear();
  for (const r of raws) r.destroy();
  raws.clear();
  for (const b of brokers) await b.close();
  brokers.clear();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function dataDir(): string {
  const dir = tempDir("halyard-restart-");
  dirs.push(dir);
  return dir;
}

/** A broker on an ephemeral port over a freshly opened LMDB store in `dir`. */
async function startOn(dir: string, options: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const store = openLmdb(dir, "fsync");
  const t = await startBroker({ sessionStore: store.sessions, retainedStore: store.retained, ...options });
  brokers.add(t);
  return t;
}

/** Clean shutdown: clients are disconnected, the store is flushed and closed. */
async function stop(t: TestBroker): Promise<void> {
  brokers.delete(t);
  await t.close();
}

interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
  at: number;
}

interface Conn {
  client: MqttClient;
  connack: IConnackPacket;
  /** Every message since the client was created (queued ones arrive right behind CONNACK). */
  got: Received[];
}

async function connect(t: TestBroker, clientId: string, opts: IClientOptions = {}): Promise<Conn> {
  const client = mqtt.connect(t.url, { protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.add(client);
  const got: Received[] = [];
  // Wire order: MQTT.js emits "message" for QoS 2 only at PUBREL, after later QoS 1 messages.
  client.on("packetreceive", (packet) => {
    if (packet.cmd === "publish") got.push({ topic: packet.topic, payload: Buffer.from(packet.payload), packet, at: Date.now() });
  });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
    client.once("close", () => reject(new Error(`${clientId} closed before CONNACK`)));
  });
  return { client, connack, got };
}

/** A session that outlives the connection: v5 with an expiry, v3.1.1 with CleanSession 0. */
function persistent(version: 4 | 5, expiry = EXPIRY): IClientOptions {
  return version === 5 ? { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: expiry } } : { protocolVersion: 4, clean: false };
}

async function bye(t: TestBroker, c: Conn, clientId: string): Promise<void> {
  await c.client.endAsync();
  clients.delete(c.client);
  await until(() => !t.broker.connected.has(clientId), 3000, `${clientId} detached`);
}

async function raw(t: TestBroker, version: 4 | 5): Promise<RawClient> {
  const r = await RawClient.open(t.port, version);
  raws.add(r);
  return r;
}

describe("restart over the same LMDB directory", () => {
  it("retained messages survive, with payload bytes and properties; a cleared topic stays cleared", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    const pub = await connect(t, "pub");
    const bytes = Buffer.from([0, 1, 2, 255, 254, 0x0a, 0x0d]);
    await pub.client.publishAsync("r/1", bytes, {
      qos: 1,
      retain: true,
      properties: { contentType: "application/x-bin", correlationData: Buffer.from([9, 0, 9]), userProperties: { k: "v", m: ["1", "2"] } },
    });
    await pub.client.publishAsync("r/2", "two", { qos: 2, retain: true });
    await pub.client.publishAsync("r/3", "three", { qos: 1, retain: true });
    await pub.client.publishAsync("r/3", "", { qos: 1, retain: true }); // clears [MQTT-3.3.1-6]
    await pub.client.publishAsync("r/2", "two again", { qos: 1, retain: true });
    await stop(t);

    t = await startOn(dir);
    expect(t.broker.retained.size).toBe(2);
    const sub = await connect(t, "sub");
    await sub.client.subscribeAsync("r/#", { qos: 1 });
    await until(() => sub.got.length >= 2, 3000, "2 retained messages");
    await sleep(200);
    const byTopic = new Map(sub.got.map((m) => [m.topic, m]));
    expect(sub.got.map((m) => m.topic).sort()).toEqual(["r/1", "r/2"]);
    const r1 = byTopic.get("r/1");
    expect(r1?.payload.equals(bytes)).toBe(true);
    expect(r1?.packet.retain).toBe(true);
    expect(r1?.packet.qos).toBe(1);
    expect(r1?.packet.properties?.contentType).toBe("application/x-bin");
    expect(r1?.packet.properties?.correlationData).toEqual(Buffer.from([9, 0, 9]));
    expect(r1?.packet.properties?.userProperties).toEqual({ k: "v", m: ["1", "2"] });
    expect(byTopic.get("r/2")?.payload.toString()).toBe("two again");
    expect(byTopic.get("r/2")?.packet.retain).toBe(true);
  });

  for (const version of [4, 5] as const) {
    it(`v${version === 4 ? "3.1.1 CleanSession 0" : "5 Session Expiry"}: subscriptions survive and messages queued while offline come after the restart`, async () => {
      const dir = dataDir();
      let t = await startOn(dir);
      const id = `persist-v${version}`;
      let sub = await connect(t, id, persistent(version));
      expect(sub.connack.sessionPresent).toBe(false);
      await sub.client.subscribeAsync({ "q/#": { qos: 1 }, "q2/+": { qos: 2 } });
      await bye(t, sub, id);
      const pub = await connect(t, "pub");
      await pub.client.publishAsync("q/1", "one", { qos: 1 });
      await pub.client.publishAsync("q/0", "qos0 not queued", { qos: 0 });
      await pub.client.publishAsync("q2/x", "two", { qos: 2 });
      await pub.client.publishAsync("q/2", "three", { qos: 2 });
      await pub.client.publishAsync("other", "not subscribed", { qos: 1 });
      await stop(t);

      t = await startOn(dir);
      expect(t.broker.sessions.has(id)).toBe(true);
      sub = await connect(t, id, persistent(version));
      expect(sub.connack.sessionPresent).toBe(true);
      await until(() => sub.got.length >= 3, 3000, "3 queued messages");
      expect(sub.got.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
        ["q/1", "one", 1],
        ["q2/x", "two", 2],
        ["q/2", "three", 1],
      ]);
      // The subscriptions route new messages too (no re-subscribe).
      const pub2 = await connect(t, "pub2");
      await pub2.client.publishAsync("q/later", "later", { qos: 1 });
      await pub2.client.publishAsync("q2/later", "later2", { qos: 2 });
      await until(() => sub.got.length >= 5, 3000, "2 live messages");
      await sleep(200);
      expect(sub.got.slice(3).map((m) => [m.topic, m.packet.qos])).toEqual([
        ["q/later", 1],
        ["q2/later", 2],
      ]);
    });
  }

  it("v5 subscription options survive: subscription identifier, No Local, shared subscription", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    let a = await connect(t, "opt", persistent(5));
    await a.client.subscribeAsync("o/#", { qos: 1, nl: true, properties: { subscriptionIdentifier: 42 } });
    await a.client.subscribeAsync("$share/g/sh/#", { qos: 1 });
    await bye(t, a, "opt");
    await stop(t);

    t = await startOn(dir);
    a = await connect(t, "opt", persistent(5));
    expect(a.connack.sessionPresent).toBe(true);
    const other = await connect(t, "other");
    await other.client.publishAsync("o/1", "from other", { qos: 1 });
    await other.client.publishAsync("sh/1", "shared", { qos: 1 });
    // No Local: its own publication is not delivered back [MQTT-3.8.3-3].
    await a.client.publishAsync("o/2", "from self", { qos: 1 });
    await until(() => a.got.length >= 2, 3000, "2 messages");
    await sleep(300);
    expect(a.got.map((m) => m.topic)).toEqual(["o/1", "sh/1"]);
    expect(a.got[0]?.packet.properties?.subscriptionIdentifier).toBe(42);
    expect(a.got[1]?.packet.properties?.subscriptionIdentifier).toBe(undefined);
  });

  it("what ended before the shutdown stays ended: UNSUBSCRIBE, Clean Start, DISCONNECT with expiry 0", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    const u = await connect(t, "unsub", persistent(5));
    await u.client.subscribeAsync({ "keep/#": { qos: 1 }, "drop/#": { qos: 1 } });
    await u.client.unsubscribeAsync("drop/#");
    await bye(t, u, "unsub");
    // Clean Start discards the old session and its subscription [MQTT-3.1.2-4]; the new one persists.
    let c = await connect(t, "clean", persistent(5));
    await c.client.subscribeAsync("old/#", { qos: 1 });
    await bye(t, c, "clean");
    c = await connect(t, "clean", { protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: EXPIRY } });
    expect(c.connack.sessionPresent).toBe(false);
    await c.client.subscribeAsync("new/#", { qos: 1 });
    await bye(t, c, "clean");
    // Expiry set to 0 at DISCONNECT: the session ends with the connection [MQTT-3.14.2-2 allows lowering it].
    const z = await connect(t, "zero", persistent(5));
    await z.client.subscribeAsync("zero/#", { qos: 1 });
    await z.client.endAsync(false, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    clients.delete(z.client);
    await until(() => !t.broker.sessions.has("zero"), 3000, "zero ended");
    await stop(t);

    t = await startOn(dir);
    expect(t.broker.sessions.has("zero")).toBe(false);
    expect([...(t.broker.sessions.get("unsub")?.subscriptions.keys() ?? [])]).toEqual(["keep/#"]);
    expect([...(t.broker.sessions.get("clean")?.subscriptions.keys() ?? [])]).toEqual(["new/#"]);
    const pub = await connect(t, "pub");
    for (const topic of ["keep/1", "drop/1", "old/1", "new/1", "zero/1"]) await pub.client.publishAsync(topic, topic, { qos: 1 });
    const u2 = await connect(t, "unsub", persistent(5));
    const c2 = await connect(t, "clean", persistent(5));
    const z2 = await connect(t, "zero", persistent(5));
    expect([u2.connack.sessionPresent, c2.connack.sessionPresent, z2.connack.sessionPresent]).toEqual([true, true, false]);
    await until(() => u2.got.length >= 1 && c2.got.length >= 1, 3000, "queued messages");
    await sleep(300);
    expect(u2.got.map((m) => m.topic)).toEqual(["keep/1"]);
    expect(c2.got.map((m) => m.topic)).toEqual(["new/1"]);
    expect(z2.got).toEqual([]);
  });

  it("v5 QoS 1 in flight and queued behind a Receive Maximum of 1: resent with DUP, then the queue in order", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    let r = await raw(t, 5);
    const connect1 = { clientId: "rm1", clean: false, properties: { sessionExpiryInterval: EXPIRY, receiveMaximum: 1 } };
    await r.connect(connect1);
    await r.subscribe("rm/#", 1);
    const pub = await connect(t, "pub");
    for (const n of [1, 2, 3]) await pub.client.publishAsync(`rm/${n}`, `m${n}`, { qos: 1 });
    const first = await r.next("publish");
    expect(first.payload.toString()).toBe("m1");
    await r.nothing(200); // the window of 1 is full
    await stop(t);

    t = await startOn(dir);
    r = await raw(t, 5);
    expect((await r.connect(connect1)).sessionPresent).toBe(true);
    const again = await r.next("publish");
    expect([again.messageId, again.dup, again.payload.toString()]).toEqual([first.messageId, true, "m1"]);
    await r.nothing(200);
    r.send({ cmd: "puback", messageId: first.messageId });
    const second = await r.next("publish");
    expect([second.dup, second.payload.toString()]).toEqual([false, "m2"]);
    r.send({ cmd: "puback", messageId: second.messageId });
    const third = await r.next("publish");
    expect([third.dup, third.payload.toString()]).toEqual([false, "m3"]);
    r.send({ cmd: "puback", messageId: third.messageId });
    await r.nothing(200);
  });

  it("a v5 session with expiry 2 s is gone after a restart 3 s later; one with a longer expiry is not", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    let short = await connect(t, "short", persistent(5, 2));
    await short.client.subscribeAsync("e/#", { qos: 1 });
    let long = await connect(t, "long", persistent(5, EXPIRY));
    await long.client.subscribeAsync("e/#", { qos: 1 });
    await bye(t, short, "short");
    const offlineAt = Date.now();
    await bye(t, long, "long");
    const pub = await connect(t, "pub");
    await pub.client.publishAsync("e/1", "queued", { qos: 1 });
    await stop(t);
    // The broker was down when the 2 s ran out.
    await sleep(Math.max(0, offlineAt + 3000 - Date.now()));

    t = await startOn(dir);
    expect(t.broker.sessions.has("short")).toBe(false);
    expect(t.broker.sessions.has("long")).toBe(true);
    short = await connect(t, "short", persistent(5, 2));
    expect(short.connack.sessionPresent).toBe(false);
    long = await connect(t, "long", persistent(5, EXPIRY));
    expect(long.connack.sessionPresent).toBe(true);
    await until(() => long.got.length >= 1, 3000, "queued message for long");
    await sleep(300);
    expect(short.got).toEqual([]);
    expect(long.got.map((m) => m.payload.toString())).toEqual(["queued"]);
  });

  it("a session's remaining expiry continues after the restart (not restarted from the full interval)", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    const s = await connect(t, "ticking", persistent(5, 3));
    await s.client.subscribeAsync("tick", { qos: 1 });
    await bye(t, s, "ticking");
    const offlineAt = Date.now();
    await stop(t);
    await sleep(Math.max(0, offlineAt + 1500 - Date.now()));
    t = await startOn(dir);
    expect(t.broker.sessions.has("ticking")).toBe(true);
    // 3 s from going offline, not from the restart: gone before restart + 3 s.
    await until(() => !t.broker.sessions.has("ticking"), 2500, "session expiry at offline + 3 s");
    expect(Date.now() - offlineAt).toBeGreaterThanOrEqual(2900);
    expect(Date.now() - offlineAt).toBeLessThan(4000);
  });

  it("queued messages whose Message Expiry ran out during the downtime are not delivered [MQTT-3.3.2-5]", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    let sub = await connect(t, "mx", persistent(5));
    await sub.client.subscribeAsync("mx/#", { qos: 1 });
    await bye(t, sub, "mx");
    const pub = await connect(t, "pub");
    await pub.client.publishAsync("mx/short", "short", { qos: 1, properties: { messageExpiryInterval: 1 } });
    const longAt = Date.now();
    await pub.client.publishAsync("mx/long", "long", { qos: 1, properties: { messageExpiryInterval: 100 } });
    await pub.client.publishAsync("mx/none", "none", { qos: 2 });
    await pub.client.publishAsync("mxr/gone", "gone", { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.client.publishAsync("mxr/keep", "keep", { qos: 1, retain: true });
    await stop(t);
    await sleep(1500);

    t = await startOn(dir);
    sub = await connect(t, "mx", persistent(5));
    expect(sub.connack.sessionPresent).toBe(true);
    await until(() => sub.got.length >= 2, 3000, "2 unexpired messages");
    await sleep(300);
    expect(sub.got.map((m) => m.topic)).toEqual(["mx/long", "mx/none"]);
    // The remaining lifetime is forwarded, counted across the downtime [MQTT-3.3.2-6].
    const remaining = sub.got[0]?.packet.properties?.messageExpiryInterval ?? -1;
    const elapsed = Math.floor((Date.now() - longAt) / 1000);
    expect(remaining).toBeLessThanOrEqual(100 - elapsed + 1);
    expect(remaining).toBeGreaterThanOrEqual(100 - elapsed - 1);
    expect(remaining).toBeLessThan(100);
    expect(sub.got[1]?.packet.properties?.messageExpiryInterval).toBe(undefined);
    // A retained message that expired during the downtime is not sent to new subscribers either.
    const late = await connect(t, "late");
    await late.client.subscribeAsync("mxr/#", { qos: 1 });
    await until(() => late.got.length >= 1, 3000, "retained");
    await sleep(300);
    expect(late.got.map((m) => m.topic)).toEqual(["mxr/keep"]);
  });

  it("delayed wills [MQTT-3.1.3-9]: one due during the downtime is published at start, one due later when due", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    let watcher = await connect(t, "watcher", persistent(5));
    await watcher.client.subscribeAsync("will/#", { qos: 1 });
    await bye(t, watcher, "watcher");

    const soon = await raw(t, 5);
    await soon.connect({
      clientId: "soon",
      clean: false,
      properties: { sessionExpiryInterval: EXPIRY },
      will: { topic: "will/soon", payload: Buffer.from("soon gone"), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    });
    const later = await raw(t, 5);
    await later.connect({
      clientId: "later",
      clean: false,
      properties: { sessionExpiryInterval: EXPIRY },
      will: {
        topic: "will/later",
        payload: Buffer.from("later gone"),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 3, userProperties: { why: "crash" } },
      },
    });
    // The session ends (1 s) before the will delay (30 s): the will goes at the session's end.
    const expiring = await raw(t, 5);
    await expiring.connect({
      clientId: "expiring",
      clean: false,
      properties: { sessionExpiryInterval: 1 },
      will: { topic: "will/expiring", payload: Buffer.from("session ended"), qos: 1, retain: false, properties: { willDelayInterval: 30 } },
    });
    // Lost connections (no DISCONNECT): the wills wait for their delay.
    soon.destroy();
    later.destroy();
    expiring.destroy();
    const lostAt = Date.now();
    await until(() => t.broker.connected.size === 0, 3000, "wills scheduled");
    await stop(t);
    await sleep(Math.max(0, lostAt + 1300 - Date.now()));

    t = await startOn(dir);
    const startedAt = Date.now();
    expect(startedAt - lostAt).toBeLessThan(2500);
    watcher = await connect(t, "watcher", persistent(5));
    expect(watcher.connack.sessionPresent).toBe(true);
    await until(() => watcher.got.length >= 2, 2000, "the wills that fell due during the downtime");
    expect(watcher.got.map((m) => m.payload.toString()).sort()).toEqual(["session ended", "soon gone"]);
    expect(t.broker.sessions.has("expiring")).toBe(false);
    await until(() => watcher.got.length >= 3, 4000, "the later will");
    const lateWill = watcher.got[2];
    expect(lateWill?.topic).toBe("will/later");
    expect(lateWill?.payload.toString()).toBe("later gone");
    expect(lateWill?.packet.properties?.userProperties).toEqual({ why: "crash" });
    // Not early (3 s after the connection was lost, not at the restart), and not much later.
    expect((lateWill?.at ?? 0) - lostAt).toBeGreaterThanOrEqual(2950);
    expect((lateWill?.at ?? 0) - lostAt).toBeLessThan(4500);
    await sleep(300);
    expect(watcher.got.length).toBe(3);
  });

  it("a will delay is cancelled by a reconnect after the restart", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    const watcher = await connect(t, "watcher", persistent(5));
    await watcher.client.subscribeAsync("will/#", { qos: 1 });
    await bye(t, watcher, "watcher");
    const w = await raw(t, 5);
    await w.connect({
      clientId: "back",
      clean: false,
      properties: { sessionExpiryInterval: EXPIRY },
      will: { topic: "will/back", payload: Buffer.from("x"), qos: 1, retain: false, properties: { willDelayInterval: 2 } },
    });
    w.destroy();
    await until(() => !t.broker.connected.has("back"), 3000, "will scheduled");
    await stop(t);
    t = await startOn(dir);
    const again = await connect(t, "back", persistent(5));
    expect(again.connack.sessionPresent).toBe(true);
    const watcher2 = await connect(t, "watcher", persistent(5));
    await sleep(2500);
    expect(watcher2.got).toEqual([]);
  });

  for (const version of [4, 5] as const) {
    it(`v${version} outgoing QoS 2 unacknowledged at shutdown: the same packet id comes again with DUP after the restart [MQTT-4.4.0-1]`, async () => {
      const dir = dataDir();
      let t = await startOn(dir);
      let r = await raw(t, version);
      const props = version === 5 ? { properties: { sessionExpiryInterval: EXPIRY } } : {};
      await r.connect({ clientId: "q2", clean: false, ...props });
      await r.subscribe("q2/#", 2);
      const pub = await connect(t, "pub");
      await pub.client.publishAsync("q2/a", "exactly once", { qos: 2 });
      const first = await r.next("publish");
      expect(first.qos).toBe(2);
      expect(first.dup).toBe(false);
      const packetId = first.messageId;
      expect(packetId).toBeGreaterThan(0);
      await stop(t);

      t = await startOn(dir);
      r = await raw(t, version);
      const connack = await r.connect({ clientId: "q2", clean: false, ...props });
      expect(connack.sessionPresent).toBe(true);
      const again = await r.next("publish");
      expect(again.messageId).toBe(packetId);
      expect(again.dup).toBe(true);
      expect(again.qos).toBe(2);
      expect(again.topic).toBe("q2/a");
      expect(again.payload.toString()).toBe("exactly once");
      r.send({ cmd: "pubrec", messageId: packetId });
      const pubrel = await r.next("pubrel");
      expect(pubrel.messageId).toBe(packetId);
      r.send({ cmd: "pubcomp", messageId: packetId });
      await r.nothing(200);
      await stop(t);

      // Completed before the next restart: nothing is resent.
      t = await startOn(dir);
      r = await raw(t, version);
      expect((await r.connect({ clientId: "q2", clean: false, ...props })).sessionPresent).toBe(true);
      await r.nothing(400);
    });

    it(`v${version} outgoing QoS 2 after PUBREC: PUBREL, not PUBLISH, is resent after the restart [MQTT-4.3.3-3]`, async () => {
      const dir = dataDir();
      let t = await startOn(dir);
      let r = await raw(t, version);
      const props = version === 5 ? { properties: { sessionExpiryInterval: EXPIRY } } : {};
      await r.connect({ clientId: "q2rel", clean: false, ...props });
      await r.subscribe("q2/#", 2);
      const pub = await connect(t, "pub");
      await pub.client.publishAsync("q2/b", "released", { qos: 2 });
      const first = await r.next("publish");
      const packetId = first.messageId;
      r.send({ cmd: "pubrec", messageId: packetId });
      expect((await r.next("pubrel")).messageId).toBe(packetId);
      await stop(t);

      t = await startOn(dir);
      r = await raw(t, version);
      expect((await r.connect({ clientId: "q2rel", clean: false, ...props })).sessionPresent).toBe(true);
      const pubrel = await r.next("pubrel");
      expect(pubrel.messageId).toBe(packetId);
      r.send({ cmd: "pubcomp", messageId: packetId });
      await r.nothing(300);
    });
  }

  it("incoming QoS 2: a PUBLISH re-sent after the restart is acknowledged, not routed again [MQTT-4.3.3-10]", async () => {
    const dir = dataDir();
    let t = await startOn(dir);
    let sub = await connect(t, "in-sub", persistent(5));
    await sub.client.subscribeAsync("in/#", { qos: 1 });
    let p = await raw(t, 5);
    await p.connect({ clientId: "in-pub", clean: false, properties: { sessionExpiryInterval: EXPIRY } });
    const publish = { cmd: "publish" as const, topic: "in/x", payload: Buffer.from("once"), qos: 2 as const, messageId: 9, retain: false, dup: false };
    p.send(publish);
    expect((await p.next("pubrec")).messageId).toBe(9);
    await until(() => sub.got.length >= 1, 3000, "first delivery");
    // Its PUBACK processed, so the subscriber has nothing in flight to get again.
    await until(() => t.broker.sessions.get("in-sub")?.inflight.size === 0, 3000, "PUBACK");
    await stop(t);

    t = await startOn(dir);
    sub = await connect(t, "in-sub", persistent(5));
    expect(sub.connack.sessionPresent).toBe(true);
    p = await raw(t, 5);
    expect((await p.connect({ clientId: "in-pub", clean: false, properties: { sessionExpiryInterval: EXPIRY } })).sessionPresent).toBe(true);
    p.send({ ...publish, dup: true });
    expect((await p.next("pubrec")).messageId).toBe(9);
    p.send({ cmd: "pubrel", messageId: 9 });
    const pubcomp = await p.next("pubcomp");
    expect(pubcomp.messageId).toBe(9);
    expect(pubcomp.reasonCode ?? 0).toBe(0);
    await sleep(400);
    expect(sub.got).toEqual([]);
  });
});
