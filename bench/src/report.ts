/** Outcome records, the comparison table and the notes printed after it. */

import type { BrokerName, ConnRateResult, IdleGenResult, Scenario, ThroughputResult } from "./types.ts";

/** CPU use during the measurement window, % of one core. */
export interface CpuUse {
  /** utime+stime of the broker process tree. */
  brokerCpuPct: number;
  /** Whole-core busy % (incl. softirq, which loopback TCP charges to no process) of the broker core. */
  brokerCoreBusyPct: number;
  /** Same for the generator core. */
  genCoreBusyPct: number;
  /** CPU used by processes outside this benchmark (interference), % of one core. */
  otherProcsCpuPct: number;
  /** The biggest of those, "pid name pct". */
  otherProcsTop: string[];
}
export interface ThroughputOutcome extends CpuUse {
  status: "ok";
  kind: "throughput";
  gen: ThroughputResult;
}
export interface ConnRateOutcome extends CpuUse {
  status: "ok";
  kind: "connrate";
  gen: ConnRateResult;
}
export interface IdleOutcome {
  status: "ok";
  kind: "idle";
  generators: IdleGenResult[];
  connected: number;
  failed: number;
  droppedWhileIdle: number;
  /** Broker process tree VmRSS before, at N/2 and at N connections. */
  rssBeforeKiB: number;
  rssMidKiB: number;
  rssAfterKiB: number;
  /** False if the RSS was still moving when it was read (10 s limit). */
  rssStable: boolean;
  /** RssAnon of the broker process (heap), for reference. */
  rssAnonBeforeKiB: number;
  rssAnonAfterKiB: number;
  /** (after - before) / N */
  kibPerConn: number;
  /** (after - mid) / (N/2): marginal cost, robust against startup memory released under load. */
  kibPerConnMarginal: number;
}
export interface FailedOutcome {
  status: "failed";
  error: string;
}
export type Outcome = ThroughputOutcome | ConnRateOutcome | IdleOutcome | FailedOutcome;

export interface RunRecord {
  broker: BrokerName;
  /** 0-based round (--repeat). */
  round: number;
  scenario: Scenario;
  outcome: Outcome;
}

/** The figure a run is ranked by when picking the median of several rounds. */
function primaryValue(o: Outcome): number {
  if (o.status === "failed") return NaN;
  if (o.kind === "throughput") return o.gen.msgsPerSec;
  if (o.kind === "connrate") return o.gen.connsPerSec;
  return o.kibPerConnMarginal;
}

/** All rounds of one broker on one scenario, in round order. */
export function recordsFor(records: RunRecord[], broker: BrokerName, scenarioId: string): RunRecord[] {
  return records.filter((r) => r.broker === broker && r.scenario.id === scenarioId).sort((a, b) => a.round - b.round);
}

/**
 * The run that stands for several rounds: the median by the primary figure
 * (msgs/s, conn/s, KiB/conn), the lower middle one for an even count, so all
 * figures in a cell come from one run. Failed rounds count only if all failed.
 */
export function medianRecord(runs: RunRecord[]): RunRecord | undefined {
  const ok = runs.filter((r) => r.outcome.status === "ok");
  if (ok.length === 0) return runs[0];
  const sorted = [...ok].sort((a, b) => primaryValue(a.outcome) - primaryValue(b.outcome));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** One-line summary for progress output. */
export function summarize(o: Outcome): string {
  switch (o.status === "failed" ? "failed" : o.kind) {
    case "failed":
      return `FAILED: ${(o as FailedOutcome).error.split("\n")[0]}`;
    case "throughput": {
      const t = o as ThroughputOutcome;
      const { gen } = t;
      return (
        `${fmtInt(gen.msgsPerSec)} msgs/s, p50 ${fmtMs(gen.latency.p50)} ms, p99 ${fmtMs(gen.latency.p99)} ms, ` +
        `lost ${gen.lost}, cpu: broker proc ${fmtPct(t.brokerCpuPct)} core ${fmtPct(t.brokerCoreBusyPct)}, ` +
        `gen proc ${fmtPct(gen.generatorCpuPct)} core ${fmtPct(t.genCoreBusyPct)}`
      );
    }
    case "connrate": {
      const c = o as ConnRateOutcome;
      const { gen } = c;
      return (
        `${fmtInt(gen.connsPerSec)} conn/s, p50 ${fmtMs(gen.latency.p50)} ms, p99 ${fmtMs(gen.latency.p99)} ms, ` +
        `failed ${gen.failed}, cpu: broker core ${fmtPct(c.brokerCoreBusyPct)}, gen core ${fmtPct(c.genCoreBusyPct)}`
      );
    }
    case "idle": {
      const i = o as IdleOutcome;
      return (
        `${i.kibPerConn.toFixed(2)} KiB/conn, 2nd half ${i.kibPerConnMarginal.toFixed(2)} KiB/conn ` +
        `(${i.connected} conns, RSS ${fmtMiB(i.rssBeforeKiB)} / ${fmtMiB(i.rssMidKiB)} / ${fmtMiB(i.rssAfterKiB)} MiB)`
      );
    }
  }
  return "";
}

// ---- formatting & table ---------------------------------------------------------------

function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
}
function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
export function fmtPct(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : "n/a";
}
function fmtMiB(kib: number): string {
  return (kib / 1024).toFixed(1);
}

interface Row {
  scenario: string;
  metric: string;
  /** Per broker: numeric value (for ratios) and display string. */
  cells: Map<BrokerName, { value: number; text: string }>;
  ratio: boolean;
}

type OkOutcome = Exclude<Outcome, FailedOutcome>;

/** One table row per metric: numeric value (for the ratio) and display text. */
interface Metric<T extends OkOutcome> {
  name: string;
  ratio: boolean;
  value: (o: T) => number;
  text: (o: T) => string;
}

/** Broker CPU (process tree, % of a core) per delivered message, in µs: robust against a busy machine. */
function cpuUsPerMsg(o: ThroughputOutcome): number {
  return o.gen.msgsPerSec > 0 ? (o.brokerCpuPct * 1e4) / o.gen.msgsPerSec : NaN;
}

const THROUGHPUT_METRICS: Metric<ThroughputOutcome>[] = [
  { name: "msgs/s", ratio: true, value: (o) => o.gen.msgsPerSec, text: (o) => fmtInt(o.gen.msgsPerSec) },
  { name: "p50 ms", ratio: true, value: (o) => o.gen.latency.p50, text: (o) => fmtMs(o.gen.latency.p50) },
  { name: "p99 ms", ratio: true, value: (o) => o.gen.latency.p99, text: (o) => fmtMs(o.gen.latency.p99) },
  { name: "lost / late", ratio: false, value: (o) => o.gen.lost, text: (o) => `${o.gen.lost} / ${o.gen.late}` },
  {
    name: "core busy broker/gen",
    ratio: false,
    value: (o) => o.brokerCoreBusyPct,
    text: (o) => `${fmtPct(o.brokerCoreBusyPct)} / ${fmtPct(o.genCoreBusyPct)}`,
  },
  {
    name: "broker CPU µs/msg",
    ratio: true,
    value: cpuUsPerMsg,
    text: (o) => (Number.isFinite(cpuUsPerMsg(o)) ? cpuUsPerMsg(o).toFixed(2) : "n/a"),
  },
];

/** QoS 1 only, after the delivery latency rows. */
const PUBACK_METRICS: Metric<ThroughputOutcome>[] = [
  {
    name: "PUBACK p50 ms",
    ratio: true,
    value: (o) => o.gen.pubackLatency?.p50 ?? NaN,
    text: (o) => fmtMs(o.gen.pubackLatency?.p50 ?? NaN),
  },
  {
    name: "PUBACK p99 ms",
    ratio: true,
    value: (o) => o.gen.pubackLatency?.p99 ?? NaN,
    text: (o) => fmtMs(o.gen.pubackLatency?.p99 ?? NaN),
  },
];

const CONNRATE_METRICS: Metric<ConnRateOutcome>[] = [
  { name: "conn/s", ratio: true, value: (o) => o.gen.connsPerSec, text: (o) => fmtInt(o.gen.connsPerSec) },
  { name: "p50 ms", ratio: true, value: (o) => o.gen.latency.p50, text: (o) => fmtMs(o.gen.latency.p50) },
  { name: "p99 ms", ratio: true, value: (o) => o.gen.latency.p99, text: (o) => fmtMs(o.gen.latency.p99) },
  { name: "failed", ratio: false, value: (o) => o.gen.failed, text: (o) => String(o.gen.failed) },
  {
    name: "core busy broker/gen",
    ratio: false,
    value: (o) => o.brokerCoreBusyPct,
    text: (o) => `${fmtPct(o.brokerCoreBusyPct)} / ${fmtPct(o.genCoreBusyPct)}`,
  },
];

const IDLE_METRICS: Metric<IdleOutcome>[] = [
  { name: "KiB/conn", ratio: true, value: (o) => o.kibPerConn, text: (o) => o.kibPerConn.toFixed(2) },
  {
    name: "KiB/conn 2nd half",
    ratio: true,
    value: (o) => o.kibPerConnMarginal,
    text: (o) => o.kibPerConnMarginal.toFixed(2),
  },
  {
    name: "RSS MiB 0 / N/2 / N",
    ratio: false,
    value: (o) => o.rssAfterKiB,
    text: (o) => `${fmtMiB(o.rssBeforeKiB)} / ${fmtMiB(o.rssMidKiB)} / ${fmtMiB(o.rssAfterKiB)}`,
  },
  { name: "conns ok/failed", ratio: false, value: (o) => o.connected, text: (o) => `${o.connected} / ${o.failed}` },
];

function metricsFor(sc: Scenario): Metric<OkOutcome>[] {
  let list: Metric<ThroughputOutcome>[] | Metric<ConnRateOutcome>[] | Metric<IdleOutcome>[];
  if (sc.kind === "throughput") {
    list = sc.qos === 1 ? [...THROUGHPUT_METRICS.slice(0, 3), ...PUBACK_METRICS, ...THROUGHPUT_METRICS.slice(3)] : THROUGHPUT_METRICS;
  } else {
    list = sc.kind === "connrate" ? CONNRATE_METRICS : IDLE_METRICS;
  }
  return list as unknown as Metric<OkOutcome>[];
}

export function buildRows(scenarios: Scenario[], brokers: BrokerName[], records: RunRecord[]): Row[] {
  const rows: Row[] = [];
  const rounds = new Set(records.map((r) => r.round)).size;
  for (const sc of scenarios) {
    const metrics = metricsFor(sc);
    metrics.forEach((m, idx) => {
      const cells = new Map<BrokerName, { value: number; text: string }>();
      for (const b of brokers) {
        const o = medianRecord(recordsFor(records, b, sc.id))?.outcome;
        if (o === undefined) continue;
        if (o.status === "failed") cells.set(b, { value: NaN, text: idx === 0 ? "FAILED" : "-" });
        else if (o.kind === sc.kind) cells.set(b, { value: m.value(o), text: m.text(o) });
      }
      rows.push({ scenario: idx === 0 ? sc.title : "", metric: m.name, cells, ratio: m.ratio });
    });
    if (rounds > 1) {
      // Every round's primary figure, so the spread behind the median is visible.
      const cells = new Map<BrokerName, { value: number; text: string }>();
      for (const b of brokers) {
        const runs = recordsFor(records, b, sc.id);
        if (runs.length === 0) continue;
        const text = runs.map((r) => fmtShort(primaryValue(r.outcome), sc.kind === "idle")).join(" ");
        cells.set(b, { value: NaN, text });
      }
      rows.push({ scenario: "", metric: `${metrics[0]!.name}, each round`, cells, ratio: false });
    }
  }
  return rows;
}

/** Compact form for the per-round row: 45.5k, 812, 3.21. */
function fmtShort(n: number, decimals: boolean): string {
  if (!Number.isFinite(n)) return "FAILED";
  if (decimals) return n.toFixed(2);
  return n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : Math.round(n).toString();
}

export function renderTable(rows: Row[], brokers: BrokerName[]): string {
  const baseline: BrokerName | null = brokers.includes("mosquitto") ? "mosquitto" : null;
  const header = ["scenario", "metric", ...brokers];
  const body = rows.map((r) => {
    const base = baseline ? r.cells.get(baseline)?.value : undefined;
    return [
      r.scenario,
      r.metric,
      ...brokers.map((b) => {
        const cell = r.cells.get(b);
        if (!cell) return "-";
        if (!r.ratio || base === undefined || !Number.isFinite(cell.value) || !Number.isFinite(base) || base === 0) {
          return cell.text;
        }
        return `${cell.text} (${(cell.value / base).toFixed(2)}x)`;
      }),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => (row[c] ?? "").length)));
  const line = (cols: string[]): string =>
    cols.map((s, c) => (c < 2 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join("  ");
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), sep, ...body.map(line)].join("\n");
}


export const LEGEND = [
  "Ratios are against mosquitto (msgs/s, conn/s: higher is better; latency, KiB/conn: lower is better).",
  "msgs/s = PUBLISH deliveries received by subscribers per second (fan-out counts every subscriber's copy).",
  "Latency = send timestamp in the payload -> receipt, both taken in the same generator process (closed loop:",
  "  latency ~ messages in flight / throughput, so it mostly reflects queueing at the saturated broker).",
  "PUBACK p50/p99 (QoS 1) = PUBLISH sent -> PUBACK received by the publisher: when the broker took responsibility",
  "  for the message (with a durable store, after it is on disk). Subscribers may get the message before that.",
  "lost = expected deliveries that never arrived; late = out-of-order / duplicate / after-timeout deliveries.",
  "core busy = % of the broker's core (0) / generator's core (1) in use, incl. kernel softirq time.",
  "broker CPU µs/msg = the broker process tree's CPU time per delivered message (excl. softirq): less",
  "  disturbed by other load on the machine than msgs/s when the broker is CPU-bound.",
].join("\n");

/** Expected deliveries for a throughput run (fan-out: every subscriber gets every message). */
function expectedDeliveries(sc: Scenario, published: number): number {
  return sc.kind === "throughput" && sc.topology === "fanout" ? published * sc.subscribers : published;
}

// ---- durable vs in-memory ------------------------------------------------------------

/** Goal from the issue: durable QoS 1 throughput at least this fraction of the in-memory figure. */
export const DURABLE_GOAL = 0.5;

export interface DurabilityRatio {
  scenario: string;
  /** "halyard" (fsync) or "halyard-commit". */
  broker: BrokerName;
  msgsPerSec: number;
  memoryMsgsPerSec: number;
  ratio: number;
  /** Only for the fsync variant on a scenario with persistent subscribers. */
  goal: number | null;
  met: boolean | null;
  p99: number;
  memoryP99: number;
  pubackP99: number;
  memoryPubackP99: number;
  /** With several rounds: durable / in-memory msgs/s of the same round (rounds are interleaved). */
  perRound: number[];
  /** Broker CPU µs per message (median runs) and in-memory / durable: the throughput ratio at equal CPU. */
  cpuUsPerMsg: number;
  memoryCpuUsPerMsg: number;
  cpuRatio: number;
}

/** Halyard durable (and commit-only) throughput relative to halyard-memory, per throughput scenario. */
export function durabilityRatios(scenarios: Scenario[], records: RunRecord[]): DurabilityRatio[] {
  const out: DurabilityRatio[] = [];
  const asThroughput = (o: Outcome | undefined): ThroughputOutcome | undefined =>
    o && o.status === "ok" && o.kind === "throughput" ? o : undefined;
  const ok = (b: BrokerName, id: string): ThroughputOutcome | undefined =>
    asThroughput(medianRecord(recordsFor(records, b, id))?.outcome);
  const perRound = (b: BrokerName, id: string): number[] => {
    const mem = recordsFor(records, "halyard-memory", id);
    const out: number[] = [];
    for (const r of recordsFor(records, b, id)) {
      const d = asThroughput(r.outcome);
      const m = asThroughput(mem.find((x) => x.round === r.round)?.outcome);
      if (d && m) out.push(d.gen.msgsPerSec / m.gen.msgsPerSec);
    }
    return out;
  };
  for (const sc of scenarios) {
    if (sc.kind !== "throughput") continue;
    const mem = ok("halyard-memory", sc.id);
    if (!mem) continue;
    for (const b of ["halyard", "halyard-commit"] as const) {
      const d = ok(b, sc.id);
      if (!d) continue;
      const ratio = d.gen.msgsPerSec / mem.gen.msgsPerSec;
      const goal = b === "halyard" && sc.persistentSubscribers && sc.qos === 1 ? DURABLE_GOAL : null;
      out.push({
        scenario: sc.id,
        broker: b,
        msgsPerSec: d.gen.msgsPerSec,
        memoryMsgsPerSec: mem.gen.msgsPerSec,
        ratio,
        goal,
        met: goal === null ? null : ratio >= goal,
        p99: d.gen.latency.p99,
        memoryP99: mem.gen.latency.p99,
        pubackP99: d.gen.pubackLatency?.p99 ?? NaN,
        memoryPubackP99: mem.gen.pubackLatency?.p99 ?? NaN,
        perRound: perRound(b, sc.id),
        cpuUsPerMsg: cpuUsPerMsg(d),
        memoryCpuUsPerMsg: cpuUsPerMsg(mem),
        cpuRatio: cpuUsPerMsg(mem) / cpuUsPerMsg(d),
      });
    }
  }
  return out;
}

export function renderDurabilityRatios(ratios: DurabilityRatio[]): string[] {
  return ratios.map((r) => {
    const what = r.broker === "halyard" ? "durable (lmdb+fsync)" : "commit-only (lmdb, no fsync)";
    const goal =
      r.goal === null ? "" : ` — goal >= ${r.goal.toFixed(1)}x: ${r.met ? "MET" : "NOT MET"}`;
    const puback = Number.isFinite(r.pubackP99)
      ? `, PUBACK p99 ${fmtMs(r.pubackP99)} vs ${fmtMs(r.memoryPubackP99)} ms`
      : "";
    const rounds =
      r.perRound.length > 1 ? `; per round ${r.perRound.map((x) => `${x.toFixed(2)}x`).join(" ")}` : "";
    const cpu = Number.isFinite(r.cpuRatio)
      ? `\n  at equal broker CPU: ${r.cpuRatio.toFixed(2)}x (${r.cpuUsPerMsg.toFixed(2)} vs ` +
        `${r.memoryCpuUsPerMsg.toFixed(2)} µs of broker CPU per message; less sensitive to a busy machine)`
      : "";
    return (
      `Halyard ${what} / in-memory on ${r.scenario}: ${fmtInt(r.msgsPerSec)} / ${fmtInt(r.memoryMsgsPerSec)} msgs/s ` +
      `= ${r.ratio.toFixed(2)}x${goal} (delivery p99 ${fmtMs(r.p99)} vs ${fmtMs(r.memoryP99)} ms${puback}${rounds})${cpu}`
    );
  });
}

export interface NoteContext {
  mosquittoPersistence: boolean;
}

/** Losses, failures and measurement caveats worth reading next to the table. */
export function buildNotes(records: RunRecord[], ctx: NoteContext): string[] {
  const notes: string[] = [];
  const durableRun = records.find((r) => r.scenario.kind === "throughput" && r.scenario.persistentSubscribers);
  if (durableRun && records.some((r) => r.broker === "mosquitto")) {
    notes.push(
      ctx.mosquittoPersistence
        ? "mosquitto ran with persistence true: it keeps messages in memory and writes a snapshot only every " +
            "autosave_interval (1800 s) and at exit, so its PUBACK never waits for the disk (acked messages since the " +
            "last snapshot are lost in a crash). Halyard's default sends the PUBACK only after an fsync; " +
            "halyard-commit after the commit (crash-safe for the process, not for a power cut)."
        : "mosquitto ran with persistence false: persistent sessions live in memory only.",
    );
  }
  const rounds = new Set(records.map((r) => r.round)).size;
  for (const { broker, round, scenario, outcome: o } of records) {
    const at = `${broker} / ${scenario.id}${rounds > 1 ? ` (round ${round + 1})` : ""}`;
    if (o.status === "failed") {
      notes.push(`${at}: FAILED — ${o.error}`);
      continue;
    }
    if (o.kind === "throughput") {
      const g = o.gen;
      const sc = g.sessionCheck;
      if (sc && (sc.present < sc.subscribers || sc.removed < sc.subscribers || sc.error)) {
        notes.push(
          `${at}: after the run ${sc.present} of ${sc.subscribers} subscriber sessions were present on reconnect ` +
            `(expected all: they are persistent) and ${sc.removed} were removed${sc.error ? ` (${sc.error})` : ""}`,
        );
      }
      if (g.lost > 0 || g.late > 0 || g.missingPubacks > 0 || g.disconnects > 0 || g.unexpected > 0) {
        const pct = (g.lost / Math.max(1, expectedDeliveries(scenario, g.publishedTotal))) * 100;
        notes.push(
          `${at}: lost ${g.lost} deliveries (${pct.toFixed(3)}% of expected, ${g.publishedTotal} published), ` +
            `late ${g.late}, missing PUBACKs ${g.missingPubacks}, connections closed by broker ${g.disconnects}, ` +
            `foreign PUBLISH frames ${g.unexpected}`,
        );
      }
    }
    if (o.kind === "connrate" && o.gen.failed > 0) {
      notes.push(`${at}: ${o.gen.failed} connection attempts failed`);
    }
    if (o.kind === "throughput" || o.kind === "connrate") {
      if (o.genCoreBusyPct > 90 && o.brokerCoreBusyPct < 85) {
        notes.push(
          `${at}: generator core ${fmtPct(o.genCoreBusyPct)} busy vs broker core ${fmtPct(o.brokerCoreBusyPct)} — ` +
            `generator-bound, so this figure is a lower bound for the broker`,
        );
      }
      if (o.otherProcsCpuPct > 10) {
        notes.push(
          `${at}: other processes on this machine used ${fmtPct(o.otherProcsCpuPct)} of a core during the ` +
            `measurement (${o.otherProcsTop.join(", ")}) — figures are disturbed`,
        );
      }
    }
    if (o.kind === "idle") {
      if (o.failed > 0 || o.droppedWhileIdle > 0) {
        notes.push(`${at}: ${o.failed} connects failed, ${o.droppedWhileIdle} connections dropped while idle`);
      }
      const rss = `${fmtMiB(o.rssBeforeKiB)} / ${fmtMiB(o.rssMidKiB)} / ${fmtMiB(o.rssAfterKiB)} MiB`;
      if (o.rssAfterKiB < o.rssMidKiB) {
        notes.push(`${at}: RSS went down in the second half (${rss}) — both KiB/conn figures are unreliable`);
      } else if (o.rssMidKiB < o.rssBeforeKiB) {
        notes.push(
          `${at}: RSS went down in the first half (${rss}): the broker released startup memory once load ` +
            `arrived (e.g. a GC), so KiB/conn is understated; the 2nd-half figure is the meaningful one`,
        );
      } else if (!o.rssStable) {
        notes.push(`${at}: RSS was still changing when read; KiB/conn is approximate`);
      }
    }
  }
  return notes;
}
