import mqtt, { type IConnackPacket, type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { startBroker, type TestBroker } from "../../engine/test/harness.ts";
import type { Durability, LmdbStore } from "../src/index.ts";
import { openLmdb, removeDir, sleep, storedMessage, tempDir, until } from "./util.ts";

/**
 * Durability "none": acknowledgements do not wait for the store (no batch is
 * ever pending), yet every write still reaches the database and survives a
 * clean close and reopen.
 */

const dirs: string[] = [];
const clients = new Set<MqttClient>();
const brokers = new Set<TestBroker>();

afterEach(async () => {
  for (const c of clients) c.end(true);
  clients.clear();
  for (const b of brokers) await b.close();
  brokers.clear();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function dataDir(): string {
  const dir = tempDir("halyard-none-");
  dirs.push(dir);
  return dir;
}

/** Records what the store answers when the broker asks which batch an ack must wait for. */
function spyPending(store: LmdbStore): { calls: number; max: number } {
  const seen = { calls: 0, max: 0 };
  const sessions = store.sessions;
  const original = sessions.pendingBatch.bind(sessions);
  sessions.pendingBatch = () => {
    const batch = original();
    seen.calls++;
    if (batch > seen.max) seen.max = batch;
    return batch;
  };
  return seen;
}

async function connect(t: TestBroker, clientId: string, opts: IClientOptions = {}): Promise<{ client: MqttClient; connack: IConnackPacket; got: string[] }> {
  const client = mqtt.connect(t.url, { protocolVersion: 5, clientId, reconnectPeriod: 0, ...opts });
  clients.add(client);
  const got: string[] = [];
  client.on("message", (_topic, payload) => got.push(payload.toString()));
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  return { client, connack, got };
}

const persistent: IClientOptions = { clean: false, properties: { sessionExpiryInterval: 300 } };

describe('durability "none"', () => {
  it("the store never has a pending batch, yet writes survive close and reopen", async () => {
    const dir = dataDir();
    let store = openLmdb(dir, "none");
    await store.sessions.load();
    const reported: number[] = [];
    store.sessions.onDurable((batch, error) => {
      if (!error) reported.push(batch);
    });
    expect(store.sessions.durable).toBe(false);
    store.sessions.saveSession("s", { expiryInterval: 60, expiresAt: 1_900_000_000_000 });
    store.sessions.saveSubscription("s", "a/#", {
      filter: "a/#",
      group: undefined,
      qos: 2,
      noLocal: false,
      retainAsPublished: true,
      retainHandling: 0,
      subscriptionId: 3,
    });
    store.sessions.saveDelivery("s", 1, { message: storedMessage(), qos: 2, retain: false, subscriptionIds: [3], packetId: 4, released: true });
    store.sessions.saveIncoming("s", 77);
    store.retained.set("r/1", { ...storedMessage({ topic: "r/1" }) });
    expect(store.sessions.pendingBatch()).toBe(0);
    await sleep(50);
    expect(store.sessions.pendingBatch()).toBe(0);
    expect(store.sessions.durableBatch()).toBe(0);
    expect(reported).toEqual([]);
    await store.close();

    // Read back through a store in the strictest mode: the data is on disk.
    store = openLmdb(dir, "fsync");
    const state = await store.sessions.load();
    await store.retained.load();
    expect(state.sessions.get("s")).toStrictEqual({ expiryInterval: 60, expiresAt: 1_900_000_000_000 });
    expect(state.subscriptions.get("s")?.get("a/#")?.subscriptionId).toBe(3);
    expect(state.deliveries.get("s")?.get(1)).toStrictEqual({
      message: storedMessage(),
      qos: 2,
      retain: false,
      subscriptionIds: [3],
      packetId: 4,
      released: true,
    });
    expect([...(state.incoming.get("s") ?? [])]).toEqual([77]);
    expect(store.retained.get("r/1")?.payload.equals(storedMessage().payload)).toBe(true);
    await store.close();
  });

  for (const durability of ["none", "fsync"] as const satisfies readonly Durability[]) {
    it(`broker over "${durability}": acks ${durability === "none" ? "are not" : "are"} held for a batch, and queued messages survive a restart`, async () => {
      const dir = dataDir();
      let store = openLmdb(dir, durability);
      const pending = spyPending(store);
      let t = await startBroker({ sessionStore: store.sessions, retainedStore: store.retained });
      brokers.add(t);
      let sub = await connect(t, "sub", persistent);
      await sub.client.subscribeAsync("n/#", { qos: 1 });
      await sub.client.endAsync();
      await until(() => !t.broker.connected.has("sub"), 3000, "sub detached");
      const pub = await connect(t, "pub");
      for (let i = 0; i < 5; i++) await pub.client.publishAsync(`n/${i}`, `m${i}`, { qos: 1 });
      await pub.client.publishAsync("n/retained", "kept", { qos: 1, retain: true });
      // The broker asked before each ack; "none" never made it wait.
      expect(pending.calls).toBeGreaterThan(0);
      if (durability === "none") {
        expect(pending.max).toBe(0);
        expect(t.broker.durableBatch).toBe(0);
      } else {
        expect(pending.max).toBeGreaterThan(0);
        expect(t.broker.durableBatch).toBeGreaterThan(0);
      }
      brokers.delete(t);
      await t.close();

      store = openLmdb(dir, durability);
      t = await startBroker({ sessionStore: store.sessions, retainedStore: store.retained });
      brokers.add(t);
      expect(t.broker.retained.get("n/retained")?.payload.toString()).toBe("kept");
      sub = await connect(t, "sub", persistent);
      expect(sub.connack.sessionPresent).toBe(true);
      await until(() => sub.got.length >= 6, 3000, "6 queued messages");
      expect(sub.got).toEqual(["m0", "m1", "m2", "m3", "m4", "kept"]);
    });
  }
});
