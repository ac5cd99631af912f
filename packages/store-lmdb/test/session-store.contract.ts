import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  DeliveryRecord,
  SessionRecord,
  SessionStore,
  StoredState,
  SubscriptionRecord,
  WillRecord,
} from "@halyard/engine";
import { binaryPayload, storedMessage } from "./util.ts";

/**
 * One contract for every SessionStore implementation: what the broker's
 * recovery (`Broker#open`) relies on. Each test writes through the port,
 * "restarts" (closes and reopens the same data for a durable store, keeps the
 * instance for an in-memory one) and compares what `load()` returns with
 * exact values.
 */
export interface SessionStoreFixture {
  store: SessionStore;
  /** Closes the store and opens it again over the same data (memory: the same instance). */
  reopen(): Promise<SessionStore>;
  /** Closes what is open and removes its files. */
  dispose?(): Promise<void>;
}

const NEVER = 0xffffffff;

function sub(over: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  return {
    filter: "a/+/c",
    group: undefined,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId: undefined,
    ...over,
  };
}

function delivery(over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    message: storedMessage(),
    qos: 1,
    retain: false,
    subscriptionIds: undefined,
    packetId: 0,
    released: false,
    ...over,
  };
}

function will(over: Partial<WillRecord> = {}): WillRecord {
  return {
    message: storedMessage({ topic: "will/x", retain: false, qos: 1, expiresAt: undefined }),
    delay: 0,
    fireAt: undefined,
    client: { clientId: "x", username: undefined, mountPoint: "", attributes: {} },
    ...over,
  };
}

function sizes(state: StoredState): number[] {
  return [state.sessions.size, state.subscriptions.size, state.deliveries.size, state.incoming.size, state.wills.size];
}

function sorted(set: Set<number> | undefined): number[] {
  return [...(set ?? [])].sort((a, b) => a - b);
}

export function sessionStoreContract(name: string, factory: () => SessionStoreFixture | Promise<SessionStoreFixture>): void {
  describe(`SessionStore contract: ${name}`, () => {
    let fixture: SessionStoreFixture;
    let store: SessionStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      // A store is loaded before use, as Broker#open does.
      await store.load();
    });

    afterEach(async () => {
      await fixture.dispose?.();
    });

    /** Closes and reopens; later writes go to the reopened store, which is loaded first like at broker start. */
    async function restart(): Promise<StoredState> {
      store = await fixture.reopen();
      return store.load();
    }

    it("a new store loads nothing", async () => {
      const state = await restart();
      expect(sizes(state)).toEqual([0, 0, 0, 0, 0]);
    });

    it("sessions: save, save again replaces, expiresAt undefined or a number", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      store.saveSession("b", { expiryInterval: NEVER, expiresAt: undefined });
      store.saveSession("c", { expiryInterval: 30, expiresAt: 1_700_000_000_123 });
      store.saveSession("a", { expiryInterval: 120, expiresAt: 1_800_000_000_999 });
      store.saveSession("c", { expiryInterval: 31, expiresAt: undefined });
      const state = await restart();
      expect(state.sessions).toStrictEqual(
        new Map<string, SessionRecord>([
          ["a", { expiryInterval: 120, expiresAt: 1_800_000_000_999 }],
          ["b", { expiryInterval: NEVER, expiresAt: undefined }],
          ["c", { expiryInterval: 31, expiresAt: undefined }],
        ]),
      );
      // Not null: the broker tests `expiresAt !== undefined`.
      expect(state.sessions.get("b")?.expiresAt).toBe(undefined);
      expect(state.sessions.get("c")?.expiresAt).toBe(undefined);
      expect(sizes(state)).toEqual([3, 0, 0, 0, 0]);
    });

    it("sessions: a second restart keeps them and later saves update the recovered records", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      await restart();
      store.saveSession("a", { expiryInterval: 60, expiresAt: 1_750_000_000_000 });
      store.saveSession("b", { expiryInterval: 5, expiresAt: 1_750_000_000_001 });
      const state = await restart();
      expect(state.sessions).toStrictEqual(
        new Map<string, SessionRecord>([
          ["a", { expiryInterval: 60, expiresAt: 1_750_000_000_000 }],
          ["b", { expiryInterval: 5, expiresAt: 1_750_000_000_001 }],
        ]),
      );
    });

    it("subscriptions: plain and shared, subscriptionId undefined or a number, replace and delete", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      store.saveSession("b", { expiryInterval: 60, expiresAt: undefined });
      store.saveSubscription("a", "a/+/c", sub());
      store.saveSubscription(
        "a",
        "$share/g1/s/#",
        sub({ filter: "s/#", group: "g1", qos: 2, retainAsPublished: true, retainHandling: 2, subscriptionId: 268_435_455 }),
      );
      store.saveSubscription("a", "t", sub({ filter: "t", qos: 0, noLocal: true, retainHandling: 1, subscriptionId: 1 }));
      store.saveSubscription("a", "ü/€/#", sub({ filter: "ü/€/#", qos: 2 }));
      store.saveSubscription("a", "gone", sub({ filter: "gone" }));
      // Save again = update: the id keeps one record with the new options.
      store.saveSubscription("a", "t", sub({ filter: "t", qos: 2, noLocal: false, retainHandling: 0, subscriptionId: undefined }));
      store.deleteSubscription("a", "gone");
      store.saveSubscription("b", "t", sub({ filter: "t", qos: 1, subscriptionId: 7 }));
      const state = await restart();
      expect(state.subscriptions.get("a")).toStrictEqual(
        new Map<string, SubscriptionRecord>([
          ["a/+/c", sub()],
          [
            "$share/g1/s/#",
            sub({ filter: "s/#", group: "g1", qos: 2, retainAsPublished: true, retainHandling: 2, subscriptionId: 268_435_455 }),
          ],
          ["t", sub({ filter: "t", qos: 2, subscriptionId: undefined })],
          ["ü/€/#", sub({ filter: "ü/€/#", qos: 2 })],
        ]),
      );
      expect(state.subscriptions.get("b")).toStrictEqual(new Map([["t", sub({ filter: "t", qos: 1, subscriptionId: 7 })]]));
      expect(state.subscriptions.get("a")?.get("a/+/c")?.group).toBe(undefined);
      expect(state.subscriptions.get("a")?.get("t")?.subscriptionId).toBe(undefined);
      expect(state.subscriptions.size).toBe(2);
    });

    it("subscriptions: deletes and saves after a restart reach the recovered session", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      store.saveSubscription("a", "x", sub({ filter: "x" }));
      store.saveSubscription("a", "y", sub({ filter: "y" }));
      await restart();
      store.deleteSubscription("a", "x");
      store.saveSubscription("a", "z", sub({ filter: "z", qos: 0 }));
      const state = await restart();
      expect(state.subscriptions.get("a")).toStrictEqual(
        new Map([
          ["y", sub({ filter: "y" })],
          ["z", sub({ filter: "z", qos: 0 })],
        ]),
      );
    });

    it("deliveries: loaded in seq order, save again updates packetId and released, delete removes", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      // Out of order, and crossing digit and width boundaries.
      const seqs = [16, 9, 10, 2 ** 40, 255, 256, 1, 2 ** 32 + 1];
      for (const seq of seqs) store.saveDelivery("a", seq, delivery({ message: storedMessage({ topic: `d/${seq}` }) }));
      store.saveDelivery("a", 9, delivery({ message: storedMessage({ topic: "d/9" }), qos: 2, packetId: 5 }));
      store.saveDelivery("a", 9, delivery({ message: storedMessage({ topic: "d/9" }), qos: 2, packetId: 5, released: true }));
      store.saveDelivery("a", 256, delivery({ message: storedMessage({ topic: "d/256" }), packetId: 65535, subscriptionIds: [1, 268_435_455] }));
      store.deleteDelivery("a", 10);
      store.deleteDelivery("a", 2 ** 40);
      const state = await restart();
      const got = state.deliveries.get("a");
      expect([...(got?.keys() ?? [])]).toEqual([1, 9, 16, 255, 256, 2 ** 32 + 1]);
      expect(got?.get(9)).toStrictEqual(delivery({ message: storedMessage({ topic: "d/9" }), qos: 2, packetId: 5, released: true }));
      expect(got?.get(256)).toStrictEqual(
        delivery({ message: storedMessage({ topic: "d/256" }), packetId: 65535, subscriptionIds: [1, 268_435_455] }),
      );
      expect(got?.get(1)).toStrictEqual(delivery({ message: storedMessage({ topic: "d/1" }) }));
      expect(got?.get(1)?.subscriptionIds).toBe(undefined);
    });

    it("deliveries: updates and deletes after a restart reach the recovered records", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      store.saveDelivery("a", 3, delivery({ qos: 2 }));
      store.saveDelivery("a", 4, delivery());
      store.saveDelivery("a", 5, delivery());
      await restart();
      store.saveDelivery("a", 3, delivery({ qos: 2, packetId: 12, released: true }));
      store.deleteDelivery("a", 4);
      store.saveDelivery("a", 6, delivery({ qos: 0 }));
      const state = await restart();
      const got = state.deliveries.get("a");
      expect([...(got?.keys() ?? [])]).toEqual([3, 5, 6]);
      expect(got?.get(3)).toStrictEqual(delivery({ qos: 2, packetId: 12, released: true }));
      expect(got?.get(6)).toStrictEqual(delivery({ qos: 0 }));
    });

    it("incoming QoS 2 packet ids: save (idempotent), delete, across restarts", async () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      store.saveSession("b", { expiryInterval: 60, expiresAt: undefined });
      for (const id of [1, 65535, 300, 1, 256]) store.saveIncoming("a", id);
      store.deleteIncoming("a", 300);
      store.deleteIncoming("a", 4242); // never saved: no effect
      store.saveIncoming("b", 300);
      let state = await restart();
      expect(sorted(state.incoming.get("a"))).toEqual([1, 256, 65535]);
      expect(sorted(state.incoming.get("b"))).toEqual([300]);
      store.deleteIncoming("a", 1);
      store.saveIncoming("a", 2);
      state = await restart();
      expect(sorted(state.incoming.get("a"))).toEqual([2, 256, 65535]);
      expect(sorted(state.incoming.get("b"))).toEqual([300]);
    });

    it("wills: fireAt undefined or a number, client info, save again replaces, delete", async () => {
      const connected = will({ client: { clientId: "a", username: undefined, mountPoint: "", attributes: {} } });
      const waiting = will({
        delay: 30,
        fireAt: 1_800_000_000_000,
        client: { clientId: "b", username: "user-ü", mountPoint: "tenant/", attributes: { plan: "pro", n: 3, nested: { list: [1, "y"] } } },
      });
      store.saveWill("a", connected);
      store.saveWill("tenant/\u0000b", waiting);
      store.saveWill("c", will());
      store.deleteWill("c");
      store.deleteWill("never-saved");
      let state = await restart();
      expect(state.wills).toStrictEqual(
        new Map([
          ["a", connected],
          ["tenant/\u0000b", waiting],
        ]),
      );
      expect(state.wills.get("a")?.fireAt).toBe(undefined);
      expect(state.wills.get("a")?.client.username).toBe(undefined);
      // The client dropped after the restart: the same will now waits for its delay.
      const due = { ...connected, delay: 10, fireAt: 1_800_000_000_500 };
      store.saveWill("a", due);
      store.deleteWill("tenant/\u0000b");
      state = await restart();
      expect(state.wills).toStrictEqual(new Map([["a", due]]));
    });

    it("message payload bytes and v5 properties round-trip exactly, absent ones stay undefined", async () => {
      const full = storedMessage({ payload: binaryPayload(64 * 1024) });
      const bare = storedMessage({
        topic: "bare",
        payload: Buffer.alloc(0),
        qos: 0,
        retain: false,
        properties: undefined,
        expiresAt: undefined,
        senderId: undefined,
      });
      const someProps = storedMessage({ topic: "some", properties: { correlationData: Buffer.alloc(0), userProperties: {} } });
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      store.saveDelivery("a", 1, delivery({ message: full }));
      store.saveDelivery("a", 2, delivery({ message: bare, qos: 0 }));
      store.saveDelivery("a", 3, delivery({ message: someProps }));
      store.saveWill("a", will({ message: bare }));
      store.saveWill("b", will({ message: full }));
      const state = await restart();
      const got = state.deliveries.get("a");
      expect(got?.get(1)?.message).toStrictEqual(full);
      expect(got?.get(2)?.message).toStrictEqual(bare);
      expect(got?.get(3)?.message).toStrictEqual(someProps);
      expect(state.wills.get("a")?.message).toStrictEqual(bare);
      expect(state.wills.get("b")?.message).toStrictEqual(full);
      const m = got?.get(1)?.message;
      expect(Buffer.isBuffer(m?.payload)).toBe(true);
      expect(m?.payload.equals(full.payload)).toBe(true);
      expect(Buffer.isBuffer(m?.properties?.correlationData)).toBe(true);
      expect(m?.properties?.userProperties).toStrictEqual({ a: "1", multi: ["x", "y", ""], "ü €": "" });
      const b = got?.get(2)?.message;
      expect(b?.payload.length).toBe(0);
      expect(b?.properties).toBe(undefined);
      expect(b?.expiresAt).toBe(undefined);
      expect(b?.senderId).toBe(undefined);
    });

    describe("deleteSession", () => {
      // Keys that are prefixes of each other, contain U+0000 (mount point
      // separator) or sort next to each other.
      const keys = ["t1/", "t1/\u0000dev", "t1", "t10", "t1/\u0000"];

      function fill(key: string, n: number): void {
        store.saveSession(key, { expiryInterval: 60 + n, expiresAt: undefined });
        store.saveSubscription(key, `f/${n}`, sub({ filter: `f/${n}` }));
        store.saveSubscription(key, "shared", sub({ filter: "s", group: `g${n}` }));
        store.saveDelivery(key, 100 + n, delivery({ message: storedMessage({ topic: `m/${n}` }) }));
        store.saveDelivery(key, 200 + n, delivery({ message: storedMessage({ topic: `m/${n}/b` }), packetId: n + 1 }));
        store.saveIncoming(key, n + 1);
        store.saveWill(key, will({ delay: n }));
      }

      function expectIntact(state: StoredState, key: string, n: number): void {
        expect(state.sessions.get(key)).toStrictEqual({ expiryInterval: 60 + n, expiresAt: undefined });
        expect(state.subscriptions.get(key)).toStrictEqual(
          new Map([
            [`f/${n}`, sub({ filter: `f/${n}` })],
            ["shared", sub({ filter: "s", group: `g${n}` })],
          ]),
        );
        expect([...(state.deliveries.get(key)?.keys() ?? [])]).toEqual([100 + n, 200 + n]);
        expect(state.deliveries.get(key)?.get(200 + n)).toStrictEqual(
          delivery({ message: storedMessage({ topic: `m/${n}/b` }), packetId: n + 1 }),
        );
        expect(sorted(state.incoming.get(key))).toEqual([n + 1]);
      }

      function expectGone(state: StoredState, key: string): void {
        expect(state.sessions.has(key)).toBe(false);
        expect(state.subscriptions.get(key)?.size ?? 0).toBe(0);
        expect(state.deliveries.get(key)?.size ?? 0).toBe(0);
        expect(state.incoming.get(key)?.size ?? 0).toBe(0);
      }

      it("removes that session's subscriptions, deliveries and incoming ids only (committed data)", async () => {
        keys.forEach((k, n) => fill(k, n));
        await restart();
        store.deleteSession("t1/");
        store.deleteSession("t1");
        const state = await restart();
        expectGone(state, "t1/");
        expectGone(state, "t1");
        expectIntact(state, "t1/\u0000dev", 1);
        expectIntact(state, "t10", 3);
        expectIntact(state, "t1/\u0000", 4);
        expect([...state.sessions.keys()].sort()).toEqual(["t1/\u0000", "t1/\u0000dev", "t10"]);
      });

      it("removes records written just before it, in the same turn", async () => {
        keys.forEach((k, n) => fill(k, n));
        store.deleteSession("t1/\u0000dev");
        store.deleteSession("t10");
        const state = await restart();
        expectGone(state, "t1/\u0000dev");
        expectGone(state, "t10");
        expectIntact(state, "t1/", 0);
        expectIntact(state, "t1", 2);
        expectIntact(state, "t1/\u0000", 4);
      });

      it("leaves nothing a later session could inherit", async () => {
        // The deleted session is the newest one: whatever numbering a store
        // uses internally, a session created after the restart must start empty.
        store.saveSession("old", { expiryInterval: 60, expiresAt: undefined });
        store.saveSession("doomed", { expiryInterval: 60, expiresAt: undefined });
        store.saveSubscription("doomed", "secret/#", sub({ filter: "secret/#" }));
        store.saveDelivery("doomed", 1, delivery());
        store.saveIncoming("doomed", 77);
        store.deleteSession("doomed");
        await restart();
        store.saveSession("fresh", { expiryInterval: 60, expiresAt: undefined });
        store.saveSubscription("fresh", "mine", sub({ filter: "mine" }));
        let state = await restart();
        expect(state.subscriptions.get("fresh")).toStrictEqual(new Map([["mine", sub({ filter: "mine" })]]));
        expect(state.deliveries.get("fresh")?.size ?? 0).toBe(0);
        expect(state.incoming.get("fresh")?.size ?? 0).toBe(0);
        expectGone(state, "doomed");
        // And again after one more restart (the numbering seen by a third start).
        store.saveSession("fresh2", { expiryInterval: 60, expiresAt: undefined });
        state = await restart();
        expect(state.subscriptions.get("fresh2")?.size ?? 0).toBe(0);
        expect(state.deliveries.get("fresh2")?.size ?? 0).toBe(0);
        expect(state.incoming.get("fresh2")?.size ?? 0).toBe(0);
        expect(state.subscriptions.get("fresh")).toStrictEqual(new Map([["mine", sub({ filter: "mine" })]]));
      });

      it("a session saved again under the same key starts empty", async () => {
        fill("k", 5);
        store.deleteSession("k");
        store.saveSession("k", { expiryInterval: 9, expiresAt: undefined });
        store.saveSubscription("k", "new", sub({ filter: "new" }));
        let state = await restart();
        expect(state.sessions.get("k")).toStrictEqual({ expiryInterval: 9, expiresAt: undefined });
        expect(state.subscriptions.get("k")).toStrictEqual(new Map([["new", sub({ filter: "new" })]]));
        expect(state.deliveries.get("k")?.size ?? 0).toBe(0);
        expect(state.incoming.get("k")?.size ?? 0).toBe(0);
        // The same after a restart in between.
        store.deleteSession("k");
        store.saveSession("k", { expiryInterval: 10, expiresAt: undefined });
        state = await restart();
        expect(state.sessions.get("k")).toStrictEqual({ expiryInterval: 10, expiresAt: undefined });
        expect(state.subscriptions.get("k")?.size ?? 0).toBe(0);
      });

      it("keeps the session's will: the broker publishes it when the session ends [MQTT-3.1.3-9]", async () => {
        fill("w", 1);
        store.deleteSession("w");
        const state = await restart();
        expectGone(state, "w");
        expect(state.wills.get("w")).toStrictEqual(will({ delay: 1 }));
      });

      it("of an unknown session is a no-op", async () => {
        fill("a", 1);
        store.deleteSession("unknown");
        store.deleteSession("a/");
        const state = await restart();
        expectIntact(state, "a", 1);
      });
    });

    it("durability: a durable store reports pending batches and their completion; a non-durable one never holds", async () => {
      if (!store.durable) {
        store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
        store.saveDelivery("a", 1, delivery());
        expect(store.pendingBatch()).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(store.pendingBatch()).toBe(0);
        return;
      }
      const seen: { batch: number; error: Error | undefined }[] = [];
      store.onDurable((batch, error) => seen.push({ batch, error }));
      const before = store.durableBatch();
      expect(store.pendingBatch()).toBe(0);
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      const first = store.pendingBatch();
      expect(first).toBeGreaterThan(before);
      // Writes in the same turn join the open batch.
      store.saveSubscription("a", "x", sub());
      expect(store.pendingBatch()).toBe(first);
      await new Promise<void>((resolve) => {
        const check = () => (store.durableBatch() >= first ? resolve() : setTimeout(check, 5));
        check();
      });
      expect(seen.some((s) => s.batch >= first && s.error === undefined)).toBe(true);
      expect(seen.every((s) => s.error === undefined)).toBe(true);
      expect(store.pendingBatch()).toBe(0);
      // A later write opens a later batch.
      store.saveIncoming("a", 1);
      const second = store.pendingBatch();
      expect(second).toBeGreaterThan(first);
      await new Promise<void>((resolve) => {
        const check = () => (store.durableBatch() >= second ? resolve() : setTimeout(check, 5));
        check();
      });
      expect(seen.some((s) => s.batch >= second)).toBe(true);
      expect(store.durableBatch()).toBeGreaterThanOrEqual(second);
      // Reported batches never go backwards.
      const batches = seen.map((s) => s.batch);
      expect(batches).toEqual([...batches].sort((x, y) => x - y));
    });

    it("isFull is false for a small store", () => {
      store.saveSession("a", { expiryInterval: 60, expiresAt: undefined });
      expect(store.isFull()).toBe(false);
    });
  });
}
