import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryRetainedStore, type Message, type RetainedStore, type StoredMessage } from "@halyard/engine";
import type { LmdbStore } from "../src/index.ts";
import { binaryPayload, message, openLmdb, removeDir, storedMessage, tempDir } from "./util.ts";

/**
 * One contract for RetainedStore implementations [MQTT-3.3.1-5..7]: set,
 * replace, clear, get, match with wildcards [MQTT-4.7.1] and the `$` rule
 * [MQTT-4.7.2-1], size; contents survive a reopen of a durable store.
 */
interface RetainedStoreFixture {
  store: RetainedStore;
  /** Closes and reopens over the same data, loaded (memory: the same instance). */
  reopen(): Promise<RetainedStore>;
  dispose?(): Promise<void>;
}

/** The stored part of a message, as it must come back (no encoder caches). */
function stored(m: Message | undefined): StoredMessage | undefined {
  if (!m) return undefined;
  return {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    properties: m.properties,
    expiresAt: m.expiresAt,
    senderId: m.senderId,
  };
}

const at = (topic: string, over: Partial<StoredMessage> = {}) => message({ topic, payload: Buffer.from(`p:${topic}`), ...over });

function retainedStoreContract(name: string, factory: () => RetainedStoreFixture | Promise<RetainedStoreFixture>): void {
  describe(`RetainedStore contract: ${name}`, () => {
    let fixture: RetainedStoreFixture;
    let store: RetainedStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
      await store.load?.();
    });

    afterEach(async () => {
      await fixture.dispose?.();
    });

    async function restart(): Promise<RetainedStore> {
      store = await fixture.reopen();
      return store;
    }

    function topics(filter: string): string[] {
      return store
        .match(filter)
        .map((m) => m.topic)
        .sort();
    }

    const all = [
      "a",
      "a/b",
      "a/b/c",
      "a/x/c",
      "a/b/c/d",
      "/lead",
      "trail/",
      "a//c",
      "$SYS/broker/load",
      "$SYS",
      "$share-not/x",
      "b/$x",
      "ü/€",
      "tenant\u0001/t",
    ];

    function fill(): void {
      for (const t of all) store.set(t, at(t));
    }

    it("starts empty", async () => {
      expect(store.size).toBe(0);
      expect(store.get("a")).toBe(undefined);
      expect(store.match("#")).toEqual([]);
      await restart();
      expect(store.size).toBe(0);
    });

    it("set, replace, clear, get and size", async () => {
      store.set("a/b", at("a/b"));
      store.set("a", at("a"));
      expect(store.size).toBe(2);
      const replacement = at("a/b", { payload: Buffer.from("second"), qos: 1 });
      store.set("a/b", replacement);
      expect(store.size).toBe(2);
      expect(stored(store.get("a/b"))).toStrictEqual(stored(replacement));
      store.set("a", null);
      expect(store.size).toBe(1);
      expect(store.get("a")).toBe(undefined);
      // Clearing what is not there changes nothing.
      store.set("a", null);
      store.set("never", null);
      store.set("a/b/c", null);
      expect(store.size).toBe(1);
      expect(store.get("a/b")?.payload.toString()).toBe("second");
      // A parent level is its own topic: "a/b" does not hold "a".
      expect(store.get("a")).toBe(undefined);
      expect(store.get("a/b/c")).toBe(undefined);
      await restart();
      expect(store.size).toBe(1);
      expect(stored(store.get("a/b"))).toStrictEqual(stored(replacement));
      expect(store.get("a")).toBe(undefined);
      expect(topics("#")).toEqual(["a/b"]);
    });

    it("match: exact names, + and # [MQTT-4.7.1-2, MQTT-4.7.1-3], empty levels", async () => {
      fill();
      const check = () => {
        expect(store.size).toBe(all.length);
        expect(topics("a/b")).toEqual(["a/b"]);
        expect(topics("a/b/c/d/e")).toEqual([]);
        expect(topics("a/+")).toEqual(["a/b"]);
        expect(topics("a/+/c")).toEqual(["a//c", "a/b/c", "a/x/c"]);
        expect(topics("+/+/c")).toEqual(["a//c", "a/b/c", "a/x/c"]);
        // "#" includes the parent level itself.
        expect(topics("a/#")).toEqual(["a", "a//c", "a/b", "a/b/c", "a/b/c/d", "a/x/c"]);
        expect(topics("a/b/#")).toEqual(["a/b", "a/b/c", "a/b/c/d"]);
        expect(topics("a/+/#")).toEqual(["a//c", "a/b", "a/b/c", "a/b/c/d", "a/x/c"]);
        expect(topics("+")).toEqual(["a"]);
        expect(topics("+/lead")).toEqual(["/lead"]);
        expect(topics("trail/+")).toEqual(["trail/"]);
        expect(topics("b/+")).toEqual(["b/$x"]);
        expect(topics("ü/+")).toEqual(["ü/€"]);
        expect(topics("tenant\u0001/#")).toEqual(["tenant\u0001/t"]);
        expect(topics("nothing/#")).toEqual([]);
      };
      check();
      await restart();
      check();
    });

    it("match: leading wildcards skip $ topics, explicit $ filters find them [MQTT-4.7.2-1]", async () => {
      fill();
      const dollarFree = all.filter((t) => !t.startsWith("$")).sort();
      const check = () => {
        expect(topics("#")).toEqual(dollarFree);
        expect(topics("+/broker/load")).toEqual([]);
        expect(topics("+/+/+")).toEqual(["a/b/c", "a/x/c", "a//c"].sort());
        expect(topics("+/#")).toEqual(dollarFree);
        expect(topics("$SYS/#")).toEqual(["$SYS", "$SYS/broker/load"]);
        expect(topics("$SYS/+/load")).toEqual(["$SYS/broker/load"]);
        expect(topics("$SYS")).toEqual(["$SYS"]);
        expect(topics("$share-not/+")).toEqual(["$share-not/x"]);
      };
      check();
      await restart();
      check();
    });

    it("match returns whole messages: payload bytes and properties exact", async () => {
      const full = message({ topic: "full/1", payload: binaryPayload(32 * 1024) });
      const bare = message({ topic: "full/2", payload: Buffer.from([0]), qos: 0, properties: undefined, expiresAt: undefined, senderId: undefined });
      store.set(full.topic, full);
      store.set(bare.topic, bare);
      const check = () => {
        const got = store.match("full/+").sort((x, y) => x.topic.localeCompare(y.topic));
        expect(got.map(stored)).toStrictEqual([storedMessage({ topic: "full/1", payload: binaryPayload(32 * 1024) }), stored(bare)]);
        expect(Buffer.isBuffer(got[0]?.payload)).toBe(true);
        expect(Buffer.isBuffer(got[0]?.properties?.correlationData)).toBe(true);
        expect(got[1]?.properties).toBe(undefined);
        expect(got[1]?.expiresAt).toBe(undefined);
        expect(got[1]?.senderId).toBe(undefined);
      };
      check();
      await restart();
      check();
    });

    it("the latest of many changes to one topic survives", async () => {
      for (let i = 0; i < 50; i++) store.set("hot", at("hot", { payload: Buffer.from(`v${i}`) }));
      store.set("cleared-then-set", null);
      store.set("cleared-then-set", at("cleared-then-set"));
      store.set("set-then-cleared", at("set-then-cleared"));
      store.set("set-then-cleared", null);
      await restart();
      expect(store.get("hot")?.payload.toString()).toBe("v49");
      expect(store.get("cleared-then-set")?.payload.toString()).toBe("p:cleared-then-set");
      expect(store.get("set-then-cleared")).toBe(undefined);
      expect(store.size).toBe(2);
    });
  });
}

retainedStoreContract("MemoryRetainedStore", () => {
  const store = new MemoryRetainedStore();
  return { store, reopen: async () => store };
});

retainedStoreContract("LmdbRetainedStore", () => {
  const dir = tempDir();
  let current: LmdbStore = openLmdb(dir);
  return {
    store: current.retained,
    async reopen() {
      await current.close();
      current = openLmdb(dir);
      await current.retained.load();
      return current.retained;
    },
    async dispose() {
      await current.close();
      removeDir(dir);
    },
  };
});
