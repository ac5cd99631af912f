import { describe, it, expect } from "vitest";
import { TopicTrie } from "./topic-trie.ts";

/** Sorted "filter|key=value" strings reported by match, for order-free comparison. */
function matches<T>(trie: TopicTrie<T>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, (value, key, filter) => out.push(`${filter}|${key}=${String(value)}`));
  return out.sort();
}

/** Sorted filters reported by match (one entry per reported value). */
function filtersMatching<T>(trie: TopicTrie<T>, topic: string): string[] {
  const out: string[] = [];
  trie.match(topic, (_value, _key, filter) => out.push(filter));
  return out.sort();
}

function trieOf(filters: string[]): TopicTrie<string> {
  const trie = new TopicTrie<string>();
  for (const f of filters) trie.add(f, "c", f);
  return trie;
}

/** True if `filter` matches `topic`; straight from the spec text, for cross-checking. */
function naiveMatch(filter: string, topic: string): boolean {
  return naiveMatchLevels(filter.split("/"), topic.split("/"));
}

function naiveMatchLevels(f: string[], t: string[]): boolean {
  if ((t[0] as string).startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** mulberry32: seeded so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("TopicTrie: spec section 4.7.1 examples", () => {
  it("multi-level wildcard: sport/tennis/player1/#", () => {
    const trie = trieOf(["sport/tennis/player1/#"]);
    expect(filtersMatching(trie, "sport/tennis/player1")).toEqual(["sport/tennis/player1/#"]);
    expect(filtersMatching(trie, "sport/tennis/player1/ranking")).toEqual(["sport/tennis/player1/#"]);
    expect(filtersMatching(trie, "sport/tennis/player1/score/wimbledon")).toEqual(["sport/tennis/player1/#"]);
    expect(filtersMatching(trie, "sport/tennis/player2")).toEqual([]);
    expect(filtersMatching(trie, "sport/tennis")).toEqual([]);
  });

  it("sport/# also matches the parent level sport", () => {
    const trie = trieOf(["sport/#"]);
    expect(filtersMatching(trie, "sport")).toEqual(["sport/#"]);
    expect(filtersMatching(trie, "sport/")).toEqual(["sport/#"]);
    expect(filtersMatching(trie, "sport/tennis/player1")).toEqual(["sport/#"]);
    expect(filtersMatching(trie, "sports")).toEqual([]);
  });

  it("# alone matches every non-$ topic", () => {
    const trie = trieOf(["#"]);
    for (const topic of ["sport", "sport/tennis", "/", "/finance", "a//b", ""]) {
      expect(filtersMatching(trie, topic)).toEqual(["#"]);
    }
  });

  it("single-level wildcard: sport/tennis/+", () => {
    const trie = trieOf(["sport/tennis/+"]);
    expect(filtersMatching(trie, "sport/tennis/player1")).toEqual(["sport/tennis/+"]);
    expect(filtersMatching(trie, "sport/tennis/player2")).toEqual(["sport/tennis/+"]);
    expect(filtersMatching(trie, "sport/tennis/player1/ranking")).toEqual([]);
    expect(filtersMatching(trie, "sport/tennis")).toEqual([]);
  });

  it("sport/+ does not match sport but does match sport/", () => {
    const trie = trieOf(["sport/+"]);
    expect(filtersMatching(trie, "sport")).toEqual([]);
    expect(filtersMatching(trie, "sport/")).toEqual(["sport/+"]);
    expect(filtersMatching(trie, "sport/tennis")).toEqual(["sport/+"]);
  });

  it("+/+ and /+ match /finance, + does not", () => {
    const trie = trieOf(["+/+", "/+", "+"]);
    expect(filtersMatching(trie, "/finance")).toEqual(["+/+", "/+"]);
    expect(filtersMatching(trie, "finance")).toEqual(["+"]);
  });

  it("+ combined with #: +/tennis/#", () => {
    const trie = trieOf(["+/tennis/#"]);
    expect(filtersMatching(trie, "sport/tennis")).toEqual(["+/tennis/#"]);
    expect(filtersMatching(trie, "sport/tennis/player1")).toEqual(["+/tennis/#"]);
    expect(filtersMatching(trie, "sport/golf/player1")).toEqual([]);
  });
});

describe("TopicTrie: $ topics [MQTT-4.7.2-1]", () => {
  it("# does not match $SYS topics", () => {
    const trie = trieOf(["#"]);
    expect(filtersMatching(trie, "$SYS/monitor/Clients")).toEqual([]);
    expect(filtersMatching(trie, "$SYS")).toEqual([]);
    expect(filtersMatching(trie, "$")).toEqual([]);
  });

  it("+/monitor/Clients does not match $SYS/monitor/Clients", () => {
    const trie = trieOf(["+/monitor/Clients", "+/#", "+"]);
    expect(filtersMatching(trie, "$SYS/monitor/Clients")).toEqual([]);
    expect(filtersMatching(trie, "$SYS")).toEqual([]);
    expect(filtersMatching(trie, "SYS/monitor/Clients")).toEqual(["+/#", "+/monitor/Clients"]);
  });

  it("$SYS/# and $SYS/monitor/+ match $SYS topics", () => {
    const trie = trieOf(["$SYS/#", "$SYS/monitor/+", "$SYS/+/Clients", "$SYS/monitor/Clients"]);
    expect(filtersMatching(trie, "$SYS/monitor/Clients")).toEqual([
      "$SYS/#",
      "$SYS/+/Clients",
      "$SYS/monitor/+",
      "$SYS/monitor/Clients",
    ]);
    expect(filtersMatching(trie, "$SYS/x")).toEqual(["$SYS/#"]);
    expect(filtersMatching(trie, "$SYS")).toEqual(["$SYS/#"]);
  });

  it("$ only matters as the first character of the topic", () => {
    const trie = trieOf(["#", "+/+"]);
    expect(filtersMatching(trie, "a/$SYS")).toEqual(["#", "+/+"]);
  });
});

describe("TopicTrie: levels", () => {
  it("topic levels are case sensitive and may contain spaces", () => {
    const trie = trieOf(["ACCOUNTS", "Accounts payable", "Accounts payable/+"]);
    expect(filtersMatching(trie, "accounts")).toEqual([]);
    expect(filtersMatching(trie, "ACCOUNTS")).toEqual(["ACCOUNTS"]);
    expect(filtersMatching(trie, "Accounts payable")).toEqual(["Accounts payable"]);
    expect(filtersMatching(trie, "Accounts payable/x y")).toEqual(["Accounts payable/+"]);
  });

  it("a leading / creates a distinct empty first level", () => {
    const trie = trieOf(["/finance", "finance"]);
    expect(filtersMatching(trie, "/finance")).toEqual(["/finance"]);
    expect(filtersMatching(trie, "finance")).toEqual(["finance"]);
  });

  it("empty levels are valid and distinct", () => {
    const trie = trieOf(["a//b", "a/+/b", "a/b", "a/b/", "+/+/+", "//"]);
    expect(filtersMatching(trie, "a//b")).toEqual(["+/+/+", "a/+/b", "a//b"]);
    expect(filtersMatching(trie, "a/b")).toEqual(["a/b"]);
    expect(filtersMatching(trie, "a/b/")).toEqual(["+/+/+", "a/b/"]);
    expect(filtersMatching(trie, "//")).toEqual(["+/+/+", "//"]);
    expect(filtersMatching(trie, "a///b")).toEqual([]);
  });

  it("the topic / has two empty levels", () => {
    const trie = trieOf(["+/+", "/#", "#", "+/", "/", "+", "/+/+"]);
    expect(filtersMatching(trie, "/")).toEqual(["#", "+/", "+/+", "/", "/#"]);
  });

  it("+ and # are wildcards only as whole levels", () => {
    const trie = trieOf(["a+", "sport#", "a+/b"]);
    expect(filtersMatching(trie, "a+")).toEqual(["a+"]);
    expect(filtersMatching(trie, "ab")).toEqual([]);
    expect(filtersMatching(trie, "sport#")).toEqual(["sport#"]);
    expect(filtersMatching(trie, "sport/x")).toEqual([]);
    expect(filtersMatching(trie, "a+/b")).toEqual(["a+/b"]);
  });

  it("a filter and its /# sibling both match the parent topic, each once", () => {
    const trie = trieOf(["a", "a/#", "+/#", "#", "+"]);
    expect(filtersMatching(trie, "a")).toEqual(["#", "+", "+/#", "a", "a/#"]);
    expect(filtersMatching(trie, "a/b")).toEqual(["#", "+/#", "a/#"]);
  });

  it("reports the filter string verbatim, including shared-subscription prefixes", () => {
    const trie = new TopicTrie<number>();
    trie.add("$share/g1/sensors/+", "c1", 1);
    expect(matches(trie, "$share/g1/sensors/t")).toEqual(["$share/g1/sensors/+|c1=1"]);
    expect(matches(trie, "sensors/t")).toEqual([]);
  });
});

describe("TopicTrie: add / get / size", () => {
  it("add returns true for a new (filter, key) and false when replacing", () => {
    const trie = new TopicTrie<number>();
    expect(trie.add("a/+", "c1", 1)).toBe(true);
    expect(trie.size).toBe(1);
    expect(trie.add("a/+", "c1", 2)).toBe(false);
    expect(trie.size).toBe(1);
    expect(trie.get("a/+", "c1")).toBe(2);
    expect(matches(trie, "a/x")).toEqual(["a/+|c1=2"]);
  });

  it("replace works for keys held beyond the first", () => {
    const trie = new TopicTrie<number>();
    trie.add("a", "c1", 1);
    trie.add("a", "c2", 2);
    trie.add("a", "c3", 3);
    expect(trie.add("a", "c3", 30)).toBe(false);
    expect(trie.add("a", "c1", 10)).toBe(false);
    expect(trie.size).toBe(3);
    expect(matches(trie, "a")).toEqual(["a|c1=10", "a|c2=2", "a|c3=30"]);
  });

  it("the same key under different filters is a different entry", () => {
    const trie = new TopicTrie<number>();
    expect(trie.add("a/b", "c1", 1)).toBe(true);
    expect(trie.add("a/+", "c1", 2)).toBe(true);
    expect(trie.add("a/#", "c1", 3)).toBe(true);
    expect(trie.size).toBe(3);
    expect(matches(trie, "a/b")).toEqual(["a/#|c1=3", "a/+|c1=2", "a/b|c1=1"]);
  });

  it("multiple keys under one filter are all reported", () => {
    const trie = new TopicTrie<string>();
    for (let i = 0; i < 50; i++) trie.add("x/+/y", `c${i}`, `v${i}`);
    expect(trie.size).toBe(50);
    const seen = new Map<string, string>();
    trie.match("x/1/y", (value, key, filter) => {
      expect(filter).toBe("x/+/y");
      expect(seen.has(key)).toBe(false);
      seen.set(key, value);
    });
    expect(seen.size).toBe(50);
    for (let i = 0; i < 50; i++) expect(seen.get(`c${i}`)).toBe(`v${i}`);
  });

  it("get returns undefined for unknown filters, prefixes and keys", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/b/c", "c1", 1);
    expect(trie.get("a/b/c", "c1")).toBe(1);
    expect(trie.get("a/b/c", "c2")).toBeUndefined();
    expect(trie.get("a/b", "c1")).toBeUndefined();
    expect(trie.get("a/b/c/d", "c1")).toBeUndefined();
    expect(trie.get("a/+/c", "c1")).toBeUndefined();
    expect(trie.get("#", "c1")).toBeUndefined();
  });

  it("get distinguishes wildcard filters from literal ones", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/+", "c", 1);
    trie.add("a/#", "c", 2);
    trie.add("a/x", "c", 3);
    expect(trie.get("a/+", "c")).toBe(1);
    expect(trie.get("a/#", "c")).toBe(2);
    expect(trie.get("a/x", "c")).toBe(3);
  });

  it("an empty trie matches nothing", () => {
    const trie = new TopicTrie<number>();
    expect(trie.size).toBe(0);
    expect(matches(trie, "a/b")).toEqual([]);
    expect(matches(trie, "$SYS/x")).toEqual([]);
  });
});

describe("TopicTrie: remove", () => {
  /** Reaches into the private root to verify pruning. */
  function rootOf(trie: TopicTrie<unknown>): Record<string, unknown> {
    return (trie as unknown as { root: Record<string, unknown> }).root;
  }
  function rootIsBare(trie: TopicTrie<unknown>): boolean {
    const root = rootOf(trie);
    return (
      root.child === undefined &&
      root.children === undefined &&
      root.plus === undefined &&
      root.hash === undefined &&
      root.key === undefined &&
      root.values === undefined
    );
  }

  it("returns the removed value and decrements size", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/b", "c1", 1);
    trie.add("a/b", "c2", 2);
    expect(trie.remove("a/b", "c1")).toBe(1);
    expect(trie.size).toBe(1);
    expect(trie.get("a/b", "c1")).toBeUndefined();
    expect(matches(trie, "a/b")).toEqual(["a/b|c2=2"]);
    expect(trie.remove("a/b", "c1")).toBeUndefined();
    expect(trie.size).toBe(1);
  });

  it("returns undefined for unknown filters, prefixes and keys without side effects", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/b/c", "c1", 1);
    expect(trie.remove("a/b", "c1")).toBeUndefined();
    expect(trie.remove("a/b/c/d", "c1")).toBeUndefined();
    expect(trie.remove("a/b/c", "c2")).toBeUndefined();
    expect(trie.remove("a/+/c", "c1")).toBeUndefined();
    expect(trie.remove("#", "c1")).toBeUndefined();
    expect(trie.size).toBe(1);
    expect(matches(trie, "a/b/c")).toEqual(["a/b/c|c1=1"]);
  });

  it("a removed filter no longer matches; siblings are unaffected", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/b/c", "k", 1);
    trie.add("a/b", "k", 2);
    trie.add("a/+/c", "k", 3);
    trie.add("a/#", "k", 4);
    expect(trie.remove("a/b/c", "k")).toBe(1);
    expect(matches(trie, "a/b/c")).toEqual(["a/#|k=4", "a/+/c|k=3"]);
    expect(trie.remove("a/+/c", "k")).toBe(3);
    expect(matches(trie, "a/b/c")).toEqual(["a/#|k=4"]);
    expect(trie.remove("a/#", "k")).toBe(4);
    expect(matches(trie, "a/b/c")).toEqual([]);
    expect(matches(trie, "a/b")).toEqual(["a/b|k=2"]);
    expect(trie.size).toBe(1);
  });

  it("removing the first-added key keeps the others", () => {
    const trie = new TopicTrie<number>();
    trie.add("t", "c1", 1);
    trie.add("t", "c2", 2);
    trie.add("t", "c3", 3);
    expect(trie.remove("t", "c1")).toBe(1);
    expect(matches(trie, "t")).toEqual(["t|c2=2", "t|c3=3"]);
    expect(trie.add("t", "c1", 10)).toBe(true);
    expect(matches(trie, "t")).toEqual(["t|c1=10", "t|c2=2", "t|c3=3"]);
    expect(trie.remove("t", "c2")).toBe(2);
    expect(trie.remove("t", "c1")).toBe(10);
    expect(trie.get("t", "c3")).toBe(3);
    expect(trie.size).toBe(1);
  });

  it("removing the first-added literal child keeps its siblings", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/x", "k", 1);
    trie.add("a/y", "k", 2);
    trie.add("a/z", "k", 3);
    trie.remove("a/x", "k");
    expect(matches(trie, "a/x")).toEqual([]);
    expect(matches(trie, "a/y")).toEqual(["a/y|k=2"]);
    expect(matches(trie, "a/z")).toEqual(["a/z|k=3"]);
    trie.add("a/x", "k", 4);
    expect(matches(trie, "a/x")).toEqual(["a/x|k=4"]);
    trie.remove("a/z", "k");
    trie.remove("a/y", "k");
    expect(matches(trie, "a/x")).toEqual(["a/x|k=4"]);
    expect(trie.get("a/y", "k")).toBeUndefined();
  });

  it("keeps interior nodes that still carry values", () => {
    const trie = new TopicTrie<number>();
    trie.add("a", "k", 1);
    trie.add("a/b/c", "k", 2);
    trie.remove("a/b/c", "k");
    expect(matches(trie, "a")).toEqual(["a|k=1"]);
    trie.remove("a", "k");
    expect(rootIsBare(trie)).toBe(true);
  });

  it("prunes every node once all entries are removed", () => {
    const trie = new TopicTrie<number>();
    const filters = ["a/b/c", "a/+/c", "a/#", "#", "+", "+/+/x", "/", "", "a//b", "$SYS/#", "x/y", "x/z", "x/w/#"];
    for (const f of filters) {
      trie.add(f, "k1", 1);
      trie.add(f, "k2", 2);
    }
    expect(trie.size).toBe(filters.length * 2);
    for (const f of filters) {
      expect(trie.remove(f, "k1")).toBe(1);
      expect(trie.remove(f, "k2")).toBe(2);
    }
    expect(trie.size).toBe(0);
    expect(rootIsBare(trie)).toBe(true);
    for (const t of ["a/b/c", "a", "x/y", "/", "", "$SYS/x"]) expect(matches(trie, t)).toEqual([]);
  });

  it("can be refilled after being emptied", () => {
    const trie = new TopicTrie<number>();
    trie.add("a/b", "k", 1);
    trie.remove("a/b", "k");
    expect(trie.add("a/b", "k", 2)).toBe(true);
    expect(matches(trie, "a/b")).toEqual(["a/b|k=2"]);
  });

  it("tolerates removal from inside the match callback", () => {
    const trie = new TopicTrie<number>();
    for (const f of ["a/b", "a/+", "a/#", "#"]) {
      trie.add(f, "k1", 1);
      trie.add(f, "k2", 2);
    }
    const seen: string[] = [];
    trie.match("a/b", (_v, key, filter) => {
      seen.push(`${filter}|${key}`);
      trie.remove(filter, key);
    });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe("TopicTrie: randomized comparison with a naive matcher", () => {
  const LEVELS = ["a", "b", "c", "", "dev1", "$x"];

  function randomTopic(rand: () => number): string {
    const depth = 1 + Math.floor(rand() * 5);
    const levels: string[] = [];
    for (let i = 0; i < depth; i++) levels.push(LEVELS[Math.floor(rand() * LEVELS.length)] as string);
    if (rand() < 0.1) levels[0] = "$SYS";
    return levels.join("/");
  }

  function randomFilter(rand: () => number): string {
    const depth = 1 + Math.floor(rand() * 5);
    const levels: string[] = [];
    for (let i = 0; i < depth; i++) {
      const r = rand();
      levels.push(r < 0.3 ? "+" : (LEVELS[Math.floor(rand() * LEVELS.length)] as string));
    }
    if (rand() < 0.25) levels.push("#");
    if (rand() < 0.05) return "#";
    if (rand() < 0.1) levels[0] = "$SYS";
    return levels.join("/");
  }

  /** reference: filter -> key -> value. Returns the number of values reported. */
  function check(trie: TopicTrie<number>, reference: Map<string, Map<string, number>>, topics: string[]): number {
    const filters = [...reference.keys()].map((filter) => ({ filter, levels: filter.split("/") }));
    let total = 0;
    for (const topic of topics) {
      const got: string[] = [];
      trie.match(topic, (value, key, filter) => got.push(`${filter}\0${key}=${value}`));
      const want: string[] = [];
      const topicLevels = topic.split("/");
      for (const { filter, levels } of filters) {
        if (!naiveMatchLevels(levels, topicLevels)) continue;
        for (const [key, value] of reference.get(filter) ?? []) want.push(`${filter}\0${key}=${value}`);
      }
      got.sort();
      want.sort();
      expect(got, `topic ${JSON.stringify(topic)}`).toEqual(want);
      total += got.length;
    }
    return total;
  }

  it("naive matcher agrees with the spec examples", () => {
    expect(naiveMatch("sport/#", "sport")).toBe(true);
    expect(naiveMatch("sport/+", "sport")).toBe(false);
    expect(naiveMatch("+/+", "/finance")).toBe(true);
    expect(naiveMatch("#", "$SYS/x")).toBe(false);
    expect(naiveMatch("$SYS/#", "$SYS")).toBe(true);
  });

  it("matches the naive matcher over random filters, topics and removals", { timeout: 60_000 }, () => {
    for (const seed of [1, 2, 3]) {
      const rand = rng(seed);
      const trie = new TopicTrie<number>();
      const reference = new Map<string, Map<string, number>>();
      let size = 0;
      for (let i = 0; i < 3000; i++) {
        const filter = randomFilter(rand);
        const key = `c${Math.floor(rand() * 20)}`;
        let keys = reference.get(filter);
        if (keys === undefined) reference.set(filter, (keys = new Map()));
        const isNew = !keys.has(key);
        expect(trie.add(filter, key, i)).toBe(isNew);
        if (isNew) size++;
        keys.set(key, i);
      }
      expect(trie.size).toBe(size);

      const topics: string[] = [];
      for (let i = 0; i < 1500; i++) topics.push(randomTopic(rand));
      expect(check(trie, reference, topics)).toBeGreaterThan(0);

      // Remove about half of the entries, in a shuffled order, then compare again.
      const entries: [string, string][] = [];
      for (const [filter, keys] of reference) for (const key of keys.keys()) entries.push([filter, key]);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [entries[i], entries[j]] = [entries[j] as [string, string], entries[i] as [string, string]];
      }
      for (const [filter, key] of entries.slice(0, entries.length >> 1)) {
        const keys = reference.get(filter) as Map<string, number>;
        expect(trie.remove(filter, key)).toBe(keys.get(key));
        keys.delete(key);
        if (keys.size === 0) reference.delete(filter);
        size--;
      }
      expect(trie.size).toBe(size);
      check(trie, reference, topics);

      for (const [filter, keys] of reference) {
        for (const [key, value] of keys) expect(trie.get(filter, key)).toBe(value);
      }

      // Remove the rest: nothing may match any more.
      for (const [filter, key] of entries.slice(entries.length >> 1)) trie.remove(filter, key);
      expect(trie.size).toBe(0);
      for (const topic of topics) expect(matches(trie, topic)).toEqual([]);
    }
  });
});
