import { describe, expect, it } from "vitest";
import { chartRows, foldSnapshot, hasTraffic } from "@/components/charts/series.ts";
import type { StatsPoint, TenantStats } from "@/lib/types.ts";

/** The dashboard's chart arithmetic: live snapshots folded into minute points, and points into per-second rows. */

const point = (at: string, messagesIn = 0, connections = 0): StatsPoint => ({
  at,
  connections,
  messagesIn,
  messagesOut: 0,
  bytesIn: messagesIn * 10,
  bytesOut: 0,
  drops: 0,
  denials: 0,
});

const snap = (at: string, messagesIn: number, connections = 3, drops: Record<string, number> = {}): TenantStats => ({
  at,
  connections,
  rates: { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 },
  totals: { messagesIn, messagesOut: 0, bytesIn: messagesIn * 10, bytesOut: 0 },
  drops,
  denials: {},
  retained: 0,
  subscriptions: 0,
  queued: 0,
  inflight: 0,
  topTopics: [],
});

describe("foldSnapshot", () => {
  const series = [point("2026-01-01T10:00:00.000Z", 60), point("2026-01-01T10:01:00.000Z", 5)];

  it("uses the first snapshot as the baseline only (the series already counts what came before)", () => {
    const out = foldSnapshot(series, undefined, snap("2026-01-01T10:01:20.000Z", 500, 7), "1h");
    expect(out.at(-1)).toMatchObject({ at: "2026-01-01T10:01:00.000Z", messagesIn: 5, connections: 7 });
  });

  it("adds the difference of the totals to the minute in progress", () => {
    const prev = snap("2026-01-01T10:01:20.000Z", 500);
    const out = foldSnapshot(series, prev, snap("2026-01-01T10:01:21.000Z", 512, 4, { "queue-full": 2 }), "1h");
    expect(out).toHaveLength(2);
    expect(out.at(-1)).toMatchObject({ messagesIn: 17, bytesIn: 50 + 120, connections: 4, drops: 2 });
    expect(series.at(-1)!.messagesIn).toBe(5); // not mutated
  });

  it("opens a new minute and drops points older than the range", () => {
    const prev = snap("2026-01-01T10:01:59.500Z", 500);
    const out = foldSnapshot(series, prev, snap("2026-01-01T11:00:00.500Z", 503), "1h");
    expect(out.map((p) => p.at)).toEqual(["2026-01-01T10:01:00.000Z", "2026-01-01T11:00:00.000Z"]);
    expect(out.at(-1)).toMatchObject({ messagesIn: 3, connections: 3 });
  });

  it("adds nothing when the totals went down (the broker restarted) and ignores snapshots older than the data", () => {
    const out = foldSnapshot(series, snap("2026-01-01T10:01:10.000Z", 900), snap("2026-01-01T10:01:11.000Z", 4), "1h");
    expect(out.at(-1)!.messagesIn).toBe(5);
    expect(foldSnapshot(series, undefined, snap("2026-01-01T09:59:00.000Z", 1), "1h")).toBe(series);
  });
});

describe("chartRows", () => {
  it("turns minute counts into per-second averages, the minute in progress by its elapsed seconds", () => {
    const rows = chartRows([point("2026-01-01T10:00:00.000Z", 120, 2), point("2026-01-01T10:01:00.000Z", 30, 5)], "1h", Date.parse("2026-01-01T10:01:15.000Z"));
    expect(rows).toEqual([
      { t: Date.parse("2026-01-01T10:00:00.000Z"), messagesIn: 2, messagesOut: 0, bytesIn: 20, bytesOut: 0, connections: 2 },
      { t: Date.parse("2026-01-01T10:01:00.000Z"), messagesIn: 2, messagesOut: 0, bytesIn: 20, bytesOut: 0, connections: 5 },
    ]);
  });

  it("groups a day into 5-minute buckets with the peak connections", () => {
    const points = Array.from({ length: 10 }, (_, i) => point(new Date(Date.parse("2026-01-01T10:00:00.000Z") + i * 60_000).toISOString(), 60, i));
    const rows = chartRows(points, "24h", Date.parse("2026-01-01T11:00:00.000Z"));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ messagesIn: 1, connections: 4 });
    expect(rows[1]).toMatchObject({ messagesIn: 1, connections: 9 });
  });
});

describe("hasTraffic", () => {
  it("is false for an all-zero or missing series", () => {
    expect(hasTraffic(undefined)).toBe(false);
    expect(hasTraffic([point("2026-01-01T10:00:00.000Z")])).toBe(false);
    expect(hasTraffic([point("2026-01-01T10:00:00.000Z"), point("2026-01-01T10:01:00.000Z", 0, 1)])).toBe(true);
  });
});
