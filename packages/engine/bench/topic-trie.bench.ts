/**
 * TopicTrie benchmark: build, memory and match throughput at 10k / 100k / 1M
 * subscriptions in IoT-like shapes.
 *
 *   npx tsx packages/engine/bench/topic-trie.bench.ts
 *   node --expose-gc --import tsx packages/engine/bench/topic-trie.bench.ts
 *
 * Subscription shapes (4 per device; 50 devices per site, 20 sites per tenant):
 *   tenant{t}/site{s}/device{d}/cmd                 exact, key dev{d}
 *   tenant{t}/site{s}/device{d}/telemetry/+         key ingest{d%32} (shared workers)
 *   tenant{t}/site{s}/device{d}/#                   key audit{d%8}
 *   and one of, by d%4:
 *   tenant{t}/site{s}/+/alarm                       key dash{d} (many keys per filter)
 *   tenant{t}/+/device{d}/config                    key cfg{d}
 *   +/+/device{d}/ota                               key ota{d}
 *   tenant{t}/site{s}/device{d}/+/+/state           key dev{d}
 *
 * "hit" topics address existing devices (each matches at least the device's
 * `#` subscription); "miss" topics address devices that do not exist, so they
 * walk the same wildcard branches but report nothing.
 *
 * Heap per subscription is the trie's own retained size: filter and key
 * strings are allocated before the baseline is taken (a broker keeps them in
 * its session state anyway); the level strings the trie slices out of the
 * filters are counted.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { TopicTrie } from "../src/topic-trie.ts";

const DEVICES_PER_SITE = 50;
const SITES_PER_TENANT = 20;
const TOPIC_SAMPLE = 16_384; // power of two: index with a mask
const MATCH_MS = 400;

function getGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === "function") return exposed;
  try {
    // Without --expose-gc: enable the flag at runtime and fetch gc from a
    // fresh context, where it gets installed.
    setFlagsFromString("--expose-gc");
    const fromContext = runInNewContext("gc") as unknown;
    if (typeof fromContext === "function") return fromContext as () => void;
  } catch {
    // fall through to memoryUsage deltas
  }
  return undefined;
}
const gc = getGc();

function settle(): number {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** mulberry32: small seeded PRNG so runs are comparable. */
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

/**
 * Strings built with templates are cons-string trees that V8 flattens (and
 * copies) on first use, which would bill the copy to the trie. Strings
 * decoded from packets are flat, so flatten the inputs the same way.
 */
function flat(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

function devicePrefix(d: number): string {
  const site = Math.floor(d / DEVICES_PER_SITE);
  const tenant = Math.floor(site / SITES_PER_TENANT);
  return `tenant${tenant}/site${site}/device${d}`;
}

function siteOf(d: number): string {
  const site = Math.floor(d / DEVICES_PER_SITE);
  const tenant = Math.floor(site / SITES_PER_TENANT);
  return `tenant${tenant}/site${site}`;
}

function subscriptions(n: number): { filters: string[]; keys: string[] } {
  const filters: string[] = [];
  const keys: string[] = [];
  const devices = Math.ceil(n / 4);
  for (let d = 0; d < devices && filters.length < n; d++) {
    const site = Math.floor(d / DEVICES_PER_SITE);
    const tenant = Math.floor(site / SITES_PER_TENANT);
    const dev = `tenant${tenant}/site${site}/device${d}`;
    filters.push(`${dev}/cmd`, `${dev}/telemetry/+`, `${dev}/#`);
    keys.push(`dev${d}`, `ingest${d % 32}`, `audit${d % 8}`);
    switch (d % 4) {
      case 0:
        filters.push(`tenant${tenant}/site${site}/+/alarm`);
        keys.push(`dash${d}`);
        break;
      case 1:
        filters.push(`tenant${tenant}/+/device${d}/config`);
        keys.push(`cfg${d}`);
        break;
      case 2:
        filters.push(`+/+/device${d}/ota`);
        keys.push(`ota${d}`);
        break;
      default:
        filters.push(`${dev}/+/+/state`);
        keys.push(`dev${d}`);
    }
  }
  filters.length = n;
  keys.length = n;
  return { filters: filters.map(flat), keys: keys.map(flat) };
}

const HIT_SUFFIXES = ["telemetry/temp", "cmd", "alarm", "config", "ota", "x/y/state"];
const MISS_SUFFIXES = ["telemetry/temp", "cmd", "config", "ota", "x/y/state"];

function topics(devices: number, hit: boolean, seed: number): string[] {
  const rand = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < TOPIC_SAMPLE; i++) {
    const d = Math.floor(rand() * devices);
    if (hit) {
      const suffix = HIT_SUFFIXES[i % HIT_SUFFIXES.length] as string;
      out.push(flat(`${devicePrefix(d)}/${suffix}`));
    } else {
      // A real tenant/site with an unknown device id.
      const suffix = MISS_SUFFIXES[i % MISS_SUFFIXES.length] as string;
      out.push(flat(`${siteOf(d)}/device${devices + d}/${suffix}`));
    }
  }
  return out;
}

let matched = 0;
const onMatch = (): void => {
  matched++;
};

function measureMatch(trie: TopicTrie<number>, sample: string[]): { opsPerSec: number; perTopic: number } {
  const mask = sample.length - 1;
  // Warm-up so the timed loop runs optimized code.
  for (let i = 0; i < sample.length; i++) trie.match(sample[i] as string, onMatch);
  matched = 0;
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(MATCH_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 4096; i++) trie.match(sample[(ops + i) & mask] as string, onMatch);
    ops += 4096;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return { opsPerSec: ops / seconds, perTopic: matched / ops };
}

interface Row {
  subs: number;
  buildMs: number;
  insertPerSec: number;
  bytesPerSub: number;
  hitOps: number;
  hitMatches: number;
  missOps: number;
  missMatches: number;
  removePerSec: number;
  leftAfterRemove: number;
}

function run(n: number): Row {
  const { filters, keys } = subscriptions(n);
  const devices = Math.ceil(n / 4);
  const hits = topics(devices, true, 1);
  const misses = topics(devices, false, 2);

  const before = settle();
  const trie = new TopicTrie<number>();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) trie.add(filters[i] as string, keys[i] as string, i);
  const buildMs = performance.now() - t0;
  const after = settle();
  if (trie.size !== n) throw new Error(`expected ${n} entries, trie has ${trie.size}`);

  const hit = measureMatch(trie, hits);
  const miss = measureMatch(trie, misses);

  const r0 = performance.now();
  for (let i = 0; i < n; i++) trie.remove(filters[i] as string, keys[i] as string);
  const removeMs = performance.now() - r0;
  if (trie.size !== 0) throw new Error(`remove left ${trie.size} entries`);
  const emptied = settle();
  // Keep the inputs reachable up to here; otherwise the optimizer lets them
  // die early and their memory shows up as "returned by the trie".
  if (filters.length + keys.length + hits.length + misses.length === 0) throw new Error("unreachable");

  return {
    subs: n,
    buildMs,
    insertPerSec: n / (buildMs / 1000),
    bytesPerSub: (after - before) / n,
    hitOps: hit.opsPerSec,
    hitMatches: hit.perTopic,
    missOps: miss.opsPerSec,
    missMatches: miss.perTopic,
    removePerSec: n / (removeMs / 1000),
    leftAfterRemove: emptied - before,
  };
}

function fmtInt(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function table(rows: Row[]): string {
  const header = [
    "subs",
    "build ms",
    "insert/s",
    "heap B/sub",
    "hit match/s",
    "matches/hit",
    "miss match/s",
    "matches/miss",
    "remove/s",
    "heap left after remove-all",
  ];
  const body = rows.map((r) => [
    fmtInt(r.subs),
    fmtInt(r.buildMs),
    fmtInt(r.insertPerSec),
    fmtInt(r.bytesPerSub),
    fmtInt(r.hitOps),
    r.hitMatches.toFixed(2),
    fmtInt(r.missOps),
    r.missMatches.toFixed(2),
    fmtInt(r.removePerSec),
    `${(r.leftAfterRemove / 1024 / 1024).toFixed(1)} MiB`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => (row[c] as string).length)));
  const line = (cells: string[]): string =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

const sizes = [10_000, 100_000, 1_000_000];
const rows: Row[] = [];
const started = performance.now();
for (const n of sizes) {
  rows.push(run(n));
  process.stderr.write(`done ${n.toLocaleString("en-US")}\n`);
}
console.log(`TopicTrie benchmark — node ${process.version}, ${gc ? "gc() available" : "no gc(): heap figures are noisy"}`);
console.log(table(rows));
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
