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
  scenario: Scenario;
  outcome: Outcome;
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
  const list = sc.kind === "throughput" ? THROUGHPUT_METRICS : sc.kind === "connrate" ? CONNRATE_METRICS : IDLE_METRICS;
  return list as unknown as Metric<OkOutcome>[];
}

export function buildRows(scenarios: Scenario[], brokers: BrokerName[], records: RunRecord[]): Row[] {
  const rows: Row[] = [];
  for (const sc of scenarios) {
    metricsFor(sc).forEach((m, idx) => {
      const cells = new Map<BrokerName, { value: number; text: string }>();
      for (const b of brokers) {
        const o = records.find((r) => r.broker === b && r.scenario.id === sc.id)?.outcome;
        if (o === undefined) continue;
        if (o.status === "failed") cells.set(b, { value: NaN, text: idx === 0 ? "FAILED" : "-" });
        else if (o.kind === sc.kind) cells.set(b, { value: m.value(o), text: m.text(o) });
      }
      rows.push({ scenario: idx === 0 ? sc.title : "", metric: m.name, cells, ratio: m.ratio });
    });
  }
  return rows;
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
  "lost = expected deliveries that never arrived; late = out-of-order / duplicate / after-timeout deliveries.",
  "core busy = % of the broker's core (0) / generator's core (1) in use, incl. kernel softirq time.",
].join("\n");

/** Expected deliveries for a throughput run (fan-out: every subscriber gets every message). */
function expectedDeliveries(sc: Scenario, published: number): number {
  return sc.kind === "throughput" && sc.topology === "fanout" ? published * sc.subscribers : published;
}

/** Losses, failures and measurement caveats worth reading next to the table. */
export function buildNotes(records: RunRecord[]): string[] {
  const notes: string[] = [];
  for (const { broker, scenario, outcome: o } of records) {
    const at = `${broker} / ${scenario.id}`;
    if (o.status === "failed") {
      notes.push(`${at}: FAILED — ${o.error}`);
      continue;
    }
    if (o.kind === "throughput") {
      const g = o.gen;
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
