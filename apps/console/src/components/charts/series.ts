import type { StatsPoint, TenantStats } from "@/lib/types.ts";

/**
 * Chart data for the live dashboards, as pure functions (no React):
 *
 * - the broker answers one point per minute (counts for that minute, the
 *   last one still in progress); live `stats` events extend it between two
 *   fetches by adding the difference of the running totals to the current
 *   minute, so the charts move every second;
 * - charts show per-second averages, like the stat cards; a day is shown in
 *   5-minute buckets (288 points instead of 1440).
 */

export type Range = "1h" | "24h";

export const MINUTE_MS = 60_000;
export const RANGE_MS: Record<Range, number> = { "1h": 60 * MINUTE_MS, "24h": 24 * 60 * MINUTE_MS };
const BUCKET_MS: Record<Range, number> = { "1h": MINUTE_MS, "24h": 5 * MINUTE_MS };

export interface ChartRow {
  /** Start of the minute or bucket, epoch ms. */
  t: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  connections: number;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/**
 * The points with one more snapshot folded in. `prev` is the snapshot before
 * (undefined: this one only becomes the baseline). A total that went down
 * means the broker restarted: that step adds nothing.
 */
export function foldSnapshot(points: StatsPoint[], prev: TenantStats | undefined, snap: TenantStats, range: Range): StatsPoint[] {
  const at = Date.parse(snap.at);
  const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
  const d = (now: number, before: number | undefined) => (before === undefined || now < before ? 0 : now - before);
  const add = {
    messagesIn: d(snap.totals.messagesIn, prev?.totals.messagesIn),
    messagesOut: d(snap.totals.messagesOut, prev?.totals.messagesOut),
    bytesIn: d(snap.totals.bytesIn, prev?.totals.bytesIn),
    bytesOut: d(snap.totals.bytesOut, prev?.totals.bytesOut),
    drops: d(sum(snap.drops), prev ? sum(prev.drops) : undefined),
    denials: d(sum(snap.denials), prev ? sum(prev.denials) : undefined),
  };
  const last = points.at(-1);
  const lastAt = last ? Date.parse(last.at) : undefined;
  let next: StatsPoint[];
  if (last && lastAt === minute) {
    next = points.slice(0, -1);
    next.push({
      at: last.at,
      connections: snap.connections,
      messagesIn: last.messagesIn + add.messagesIn,
      messagesOut: last.messagesOut + add.messagesOut,
      bytesIn: last.bytesIn + add.bytesIn,
      bytesOut: last.bytesOut + add.bytesOut,
      drops: last.drops + add.drops,
      denials: last.denials + add.denials,
    });
  } else if (lastAt === undefined || lastAt < minute) {
    next = [...points, { at: new Date(minute).toISOString(), connections: snap.connections, ...add }];
  } else {
    return points; // a snapshot older than the data we have: ignore
  }
  const from = minute - RANGE_MS[range];
  return next.filter((p) => Date.parse(p.at) > from);
}

/**
 * Per-second averages per minute (1h) or per 5 minutes (24h). The minute in
 * progress is divided by the seconds it has had so far (`now`), so the last
 * point does not dip.
 */
export function chartRows(points: StatsPoint[], range: Range, now: number): ChartRow[] {
  const size = BUCKET_MS[range];
  const rows: ChartRow[] = [];
  let current: ChartRow | undefined;
  for (const p of points) {
    const at = Date.parse(p.at);
    const t = Math.floor(at / size) * size;
    if (!current || current.t !== t) {
      current = { t, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, connections: 0 };
      rows.push(current);
    }
    current.messagesIn += p.messagesIn;
    current.messagesOut += p.messagesOut;
    current.bytesIn += p.bytesIn;
    current.bytesOut += p.bytesOut;
    current.connections = Math.max(current.connections, p.connections);
  }
  for (const r of rows) {
    const seconds = Math.min(size, Math.max(1000, now - r.t)) / 1000;
    r.messagesIn /= seconds;
    r.messagesOut /= seconds;
    r.bytesIn /= seconds;
    r.bytesOut /= seconds;
  }
  return rows;
}

export function hasTraffic(points: StatsPoint[] | undefined): boolean {
  return !!points?.some((p) => p.messagesIn + p.messagesOut + p.connections + p.drops + p.denials > 0);
}

/** HH:MM in UTC, like every other time in the console. */
export function hhmm(t: number): string {
  return new Date(t).toISOString().slice(11, 16);
}
