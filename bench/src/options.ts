/** Command-line / environment options and the scenario definitions they produce. */

import { parseArgs } from "node:util";
import { DEFAULT_BROKERS, DURABILITY_BROKERS, KNOWN_BROKERS } from "./brokers/index.ts";
import type { BrokerName, Scenario } from "./types.ts";

export const USAGE = `Usage: npm run bench -- [--flag=value ...]      (from the repo root; use "=" for values, npm parses them)
       npm run bench -w @halyard/bench -- [--flag value ...]
Every flag can also be given as env BENCH_<NAME>, e.g. BENCH_DURATION=10 BENCH_BROKERS=mosquitto,aedes.

  --brokers <list>         brokers to run, in order (default: halyard,mosquitto,aedes). Known:
                           halyard (LMDB store, fsync durability: the default configuration),
                           halyard-memory (HALYARD_STORE=memory), halyard-commit (HALYARD_DURABILITY=commit),
                           mosquitto, aedes
  --scenarios <list>       scenario ids (default: fanin-q0, pairs-q0, pairs-q1, fanout-q0, conn-rate, idle-mem);
                           also: pairs-q1-durable (pairs-q1 with persistent subscriber sessions)
  --durability             durable QoS 1 comparison: scenario pairs-q1-durable on
                           halyard, halyard-memory, halyard-commit and mosquitto with persistence on,
                           3 rounds (--scenarios / --brokers / --repeat still override)
  --repeat <n>             run the whole broker list n times, interleaved (A B C A B C ...); the table
                           shows each broker's median run (default 1, --durability 3)
  --quick                  CI smoke run: ~1 s per scenario, 1000 connects, 2000 idle connections
  --warmup <s>             warm-up before measuring (default 2, quick 0.3)
  --duration <s>           measurement window (default 5, quick 1)
  --window <n>             QoS 0 messages outstanding per publisher (default 32)
  --window-qos1 <n>        QoS 1 messages outstanding per publisher (default 16)
  --window-fanout <n>      fan-out publisher window (default 64; x200 subscribers = deliveries in flight)
  --payload <bytes>        payload size, >= 16 (default 64)
  --conn-total <n>         connection-rate clients (default 5000, quick 1000)
  --conn-concurrency <n>   handshakes in flight at once (default 64)
  --idle-conns <n>         idle connections for the memory test (default 19000, quick 2000)
  --idle-per-proc <n>      max idle client sockets per generator process (default 15000)
  --settle <s>             wait after opening idle connections before reading RSS (default 3, quick 1)
  --mosquitto-persistence  run Mosquitto with persistence true (temp dir; implied by --durability)
  --out <file>             JSON output path (default bench/results/<timestamp>.json)
  --keep-logs              keep the temp dir with broker configs/logs
  -h, --help               this help (through the root script: BENCH_HELP=1 npm run bench)

Env HALYARD_BENCH_ENTRY overrides the Halyard command (an entry file, or a shell command).`;

export const SCENARIO_IDS = [
  "fanin-q0",
  "pairs-q0",
  "pairs-q1",
  "pairs-q1-durable",
  "fanout-q0",
  "conn-rate",
  "idle-mem",
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];
/** The default (and CI --quick) run. */
export const DEFAULT_SCENARIOS: ScenarioId[] = ["fanin-q0", "pairs-q0", "pairs-q1", "fanout-q0", "conn-rate", "idle-mem"];
/** What --durability runs. */
export const DURABILITY_SCENARIOS: ScenarioId[] = ["pairs-q1-durable"];

export interface Options {
  brokers: BrokerName[];
  scenarios: ScenarioId[];
  quick: boolean;
  warmupS: number;
  durationS: number;
  window: number;
  windowQos1: number;
  windowFanout: number;
  payload: number;
  connTotal: number;
  connConcurrency: number;
  idleConns: number;
  idlePerProc: number;
  settleS: number;
  mosquittoPersistence: boolean;
  /** --durability: the durable QoS 1 comparison. */
  durability: boolean;
  /** Rounds over the broker list; the report shows each broker's median run. */
  repeat: number;
  out: string | undefined;
  keepLogs: boolean;
}

const STRING_OPTIONS = new Set([
  "brokers",
  "scenarios",
  "warmup",
  "duration",
  "window",
  "window-qos1",
  "window-fanout",
  "payload",
  "conn-total",
  "conn-concurrency",
  "idle-conns",
  "idle-per-proc",
  "settle",
  "repeat",
  "out",
]);

export function parseOptions(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      brokers: { type: "string" },
      scenarios: { type: "string" },
      quick: { type: "boolean" },
      warmup: { type: "string" },
      duration: { type: "string" },
      window: { type: "string" },
      "window-qos1": { type: "string" },
      "window-fanout": { type: "string" },
      payload: { type: "string" },
      "conn-total": { type: "string" },
      "conn-concurrency": { type: "string" },
      "idle-conns": { type: "string" },
      "idle-per-proc": { type: "string" },
      settle: { type: "string" },
      "mosquitto-persistence": { type: "boolean" },
      durability: { type: "boolean" },
      repeat: { type: "string" },
      out: { type: "string" },
      "keep-logs": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help || process.env.BENCH_HELP) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length > 0) {
    throw new Error(
      `unexpected argument(s) ${positionals.join(" ")}. Through the root "npm run bench" npm itself parses ` +
        `"--flag value"; write "--flag=value", or pass flags after a second "--" (npm run bench -- -- --flag value)`,
    );
  }
  // BENCH_<NAME> env, then npm_config_<name>: the root script is "npm run bench -w @halyard/bench", so
  // \`npm run bench -- --brokers=aedes --quick\` reaches us only as npm config env vars.
  const env = (name: string): string | undefined => {
    const key = name.replace(/-/g, "_");
    const bench = process.env[`BENCH_${key.toUpperCase()}`];
    if (bench !== undefined) return bench;
    const npm = process.env[`npm_config_${key}`];
    if (npm === "true" && STRING_OPTIONS.has(name)) {
      throw new Error(`--${name} needs a value; through npm write --${name}=<value>`);
    }
    return npm;
  };
  const str = (name: keyof typeof values): string | undefined => {
    const v = values[name];
    return typeof v === "string" ? v : env(name);
  };
  const bool = (name: keyof typeof values): boolean => {
    const v = values[name];
    if (typeof v === "boolean") return v;
    const e = env(name);
    return e !== undefined && e !== "" && e !== "0" && e !== "false";
  };
  const num = (name: keyof typeof values, dflt: number, min: number): number => {
    const raw = str(name);
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${raw}"`);
    return n;
  };
  const int = (name: keyof typeof values, dflt: number, min: number): number => Math.floor(num(name, dflt, min));
  const list = <T extends string>(name: keyof typeof values, allowed: readonly T[], dflt: readonly T[]): T[] => {
    const raw = str(name);
    if (raw === undefined) return [...dflt];
    const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
    for (const i of items) {
      if (!allowed.includes(i as T)) throw new Error(`unknown ${name} "${i}" (known: ${allowed.join(", ")})`);
    }
    if (items.length === 0) throw new Error(`--${name} is empty (known: ${allowed.join(", ")})`);
    return items as T[];
  };

  const quick = bool("quick");
  const durability = bool("durability");
  return {
    brokers: list("brokers", KNOWN_BROKERS, durability ? DURABILITY_BROKERS : DEFAULT_BROKERS),
    scenarios: list("scenarios", SCENARIO_IDS, durability ? DURABILITY_SCENARIOS : DEFAULT_SCENARIOS),
    quick,
    warmupS: num("warmup", quick ? 0.3 : 2, 0),
    durationS: num("duration", quick ? 1 : 5, 0.1),
    window: int("window", 32, 1),
    windowQos1: int("window-qos1", 16, 1),
    windowFanout: int("window-fanout", 64, 1),
    payload: int("payload", 64, 16),
    connTotal: int("conn-total", quick ? 1000 : 5000, 1),
    connConcurrency: int("conn-concurrency", 64, 1),
    idleConns: int("idle-conns", quick ? 2000 : 19000, 1),
    idlePerProc: int("idle-per-proc", 15000, 1),
    settleS: num("settle", quick ? 1 : 3, 0),
    mosquittoPersistence: durability || bool("mosquitto-persistence"),
    durability,
    repeat: int("repeat", durability ? 3 : 1, 1),
    out: str("out"),
    keepLogs: bool("keep-logs"),
  };
}

export function buildScenarios(o: Options): Scenario[] {
  const base = {
    payloadSize: o.payload,
    warmupMs: o.warmupS * 1000,
    measureMs: o.durationS * 1000,
    drainMs: 2000,
    stallMs: 3000,
    persistentSubscribers: false,
    topicPrefix: "bench",
  };
  const all: Record<ScenarioId, Scenario> = {
    "fanin-q0": {
      kind: "throughput",
      id: "fanin-q0",
      title: "fan-in QoS0 50->1",
      topology: "fanin",
      publishers: 50,
      subscribers: 1,
      qos: 0,
      window: o.window,
      ...base,
    },
    "pairs-q0": {
      kind: "throughput",
      id: "pairs-q0",
      title: "1:1 QoS0 100 pairs",
      topology: "pairs",
      publishers: 100,
      subscribers: 100,
      qos: 0,
      window: o.window,
      ...base,
    },
    "pairs-q1": {
      kind: "throughput",
      id: "pairs-q1",
      title: "1:1 QoS1 100 pairs",
      topology: "pairs",
      publishers: 100,
      subscribers: 100,
      qos: 1,
      window: o.windowQos1,
      ...base,
    },
    "pairs-q1-durable": {
      kind: "throughput",
      id: "pairs-q1-durable",
      title: "1:1 QoS1 100 pairs, persistent subs",
      topology: "pairs",
      publishers: 100,
      subscribers: 100,
      qos: 1,
      window: o.windowQos1,
      ...base,
      // Every message is routed to a persistent session: a durable broker must store it before the PUBACK.
      persistentSubscribers: true,
      // Own topics: a session left behind by a failed run never receives another scenario's messages.
      topicPrefix: "bench/durable",
    },
    "fanout-q0": {
      kind: "throughput",
      id: "fanout-q0",
      title: "fan-out QoS0 1->200",
      topology: "fanout",
      publishers: 1,
      subscribers: 200,
      qos: 0,
      window: o.windowFanout,
      ...base,
    },
    "conn-rate": {
      kind: "connrate",
      id: "conn-rate",
      title: `connect rate ${o.connTotal} (c=${o.connConcurrency})`,
      total: o.connTotal,
      warmup: Math.min(500, Math.floor(o.connTotal / 5)),
      concurrency: o.connConcurrency,
    },
    "idle-mem": {
      kind: "idle",
      id: "idle-mem",
      title: `idle memory ${o.idleConns} conns`,
      connections: o.idleConns,
      perProcess: o.idlePerProc,
      concurrency: 200,
      settleMs: o.settleS * 1000,
    },
  };
  return o.scenarios.map((id) => all[id]);
}
