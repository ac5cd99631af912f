"use client";
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { fmtBytes, fmtNumber, fmtRate } from "@/lib/format.ts";
import type { StatsPoint, TenantStats } from "@/lib/types.ts";
import { chartRows, foldSnapshot, hasTraffic, type Range } from "./series.ts";
import { Breakdown, bytesRate, LiveHeader, show, StatCard, total, TrafficCards } from "./stat-card.tsx";
import { TrafficChart } from "./traffic-chart.tsx";
import { useEventStream } from "./use-event-stream.ts";
import { DataTable } from "@/components/table.tsx";

/**
 * The live part of the tenant dashboard. Server-rendered with the snapshot
 * and last hour the page fetched, then kept current in the browser: one
 * `stats` event per second over /api/live/tenants/<t>/stats (the console's
 * relay of the broker's stream) updates the cards and extends the charts;
 * the series is fetched again every minute and when the range changes.
 */

const SERIES_REFRESH_MS = 60_000;
const RANGES: { value: Range; label: string; caption: string }[] = [
  { value: "1h", label: "Last hour", caption: "Last hour, per-minute averages" },
  { value: "24h", label: "Last day", caption: "Last 24 hours, 5-minute averages" },
];

const IN = "#0f6cbd";
const OUT = "#c26a00";

const noop = () => () => {};
/** False while hydrating, true after: charts measure the DOM and use the clock, so they render in the browser only. */
function useMounted(): boolean {
  return useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
}

export function TenantLive({ tenant, name, initialStats, initialSeries }: { tenant: string; name: string; initialStats: TenantStats | null; initialSeries: StatsPoint[] | null }) {
  const base = `/api/live/tenants/${encodeURIComponent(tenant)}`;
  const [stats, setStats] = useState<TenantStats | null>(initialStats);
  const [range, setRange] = useState<Range>("1h");
  const [series, setSeries] = useState<Partial<Record<Range, StatsPoint[]>>>(initialSeries ? { "1h": initialSeries } : {});
  const [seriesError, setSeriesError] = useState<string | null>(null);
  // The server fetched the snapshot and the series together, so the snapshot is the baseline of the first live event.
  const prev = useRef<TenantStats | undefined>(initialStats ?? undefined);
  const mounted = useMounted();

  const onStats = useCallback((snap: TenantStats) => {
    const before = prev.current;
    prev.current = snap;
    setStats(snap);
    setSeries((s) => {
      const next: Partial<Record<Range, StatsPoint[]>> = {};
      for (const r of Object.keys(s) as Range[]) next[r] = foldSnapshot(s[r]!, before, snap, r);
      return next;
    });
  }, []);
  const state = useEventStream<TenantStats>(`${base}/stats`, "stats", onStats);

  const load = useCallback(
    async (r: Range) => {
      try {
        const res = await fetch(`${base}/series?range=${r}`, { cache: "no-store" });
        if (res.status === 401) {
          window.location.assign(`/login?expired=1&returnTo=${encodeURIComponent(window.location.pathname)}`);
          return;
        }
        if (!res.ok) {
          const problem = (await res.json().catch(() => ({}))) as { title?: string; detail?: string };
          throw new Error(problem.detail ?? problem.title ?? `HTTP ${res.status}`);
        }
        const points = (await res.json()) as StatsPoint[];
        // The fresh series already counts everything up to now: the next event becomes the new baseline.
        prev.current = undefined;
        setSeries((s) => ({ ...s, [r]: points }));
        setSeriesError(null);
      } catch (err) {
        setSeriesError((err as Error).message);
      }
    },
    [base],
  );

  const loaded = series[range] !== undefined;
  useEffect(() => {
    if (!loaded) void load(range);
    const timer = setInterval(() => void load(range), SERIES_REFRESH_MS);
    return () => clearInterval(timer);
  }, [range, load, loaded]);

  const points = series[range];
  const rangeInfo = RANGES.find((r) => r.value === range)!;
  const now = stats ? Date.parse(stats.at) : 0;
  const rows = points && mounted ? chartRows(points, range, now) : [];
  const quiet =
    stats !== null &&
    stats.connections === 0 &&
    stats.retained === 0 &&
    stats.subscriptions === 0 &&
    stats.totals.messagesIn + stats.totals.messagesOut === 0 &&
    !hasTraffic(series["1h"]) &&
    !hasTraffic(series["24h"]);

  const v = <T,>(f: (s: TenantStats) => T): T | undefined => (stats ? f(stats) : undefined);
  const denials = v((s) => total(s.denials));

  return (
    <>
      <LiveHeader title={name} description="Live dashboard: traffic of this tenant's devices, updated every second." state={state} />

      <div className="stack">
        <div className="stat-grid">
          <StatCard label="Connections" value={show(stats?.connections, fmtNumber)} raw={stats?.connections} sub={stats ? `${fmtNumber(stats.subscriptions)} subscriptions` : undefined} />
          <TrafficCards stats={stats} />
          <StatCard label="Denials" value={show(denials, fmtNumber)} raw={denials}>
            <Breakdown counts={stats?.denials} label="Denials by reason" />
          </StatCard>
          <StatCard label="Retained" value={show(stats?.retained, fmtNumber)} raw={stats?.retained} sub="retained messages" />
          <StatCard label="Queued" value={show(stats?.queued, fmtNumber)} raw={stats?.queued} sub={stats ? `${fmtNumber(stats.inflight)} in flight` : undefined} />
        </div>

        {quiet ? (
          <div className="card empty" role="status">
            <h3>No traffic yet</h3>
            <p>
              Nothing has connected to this tenant since the broker started. Connect a device with one of its credentials, or run <code>npm run demo</code> in the Halyard
              checkout to start a simulated factory in the <code>smart-factory</code> tenant.
            </p>
          </div>
        ) : (
          <>
            <section aria-labelledby="charts-title" className="stack">
              <div className="row">
                <h2 id="charts-title" className="charts-title">
                  Traffic
                </h2>
                <span className="spacer" />
                <div role="group" aria-label="Chart range" className="segmented">
                  {RANGES.map((r) => (
                    <button key={r.value} type="button" className="small" aria-pressed={range === r.value} onClick={() => setRange(r.value)}>
                      {r.label}
                    </button>
                  ))}
                </div>
              </div>
              {seriesError ? (
                <div className="alert error" role="alert">
                  Could not load the chart data: {seriesError}
                </div>
              ) : null}
              {!mounted || !points ? (
                seriesError ? null : (
                  <div className="card muted small" role="status">
                    Loading charts…
                  </div>
                )
              ) : (
                <div className="chart-grid">
                  <TrafficChart
                    title="Messages/s"
                    rangeLabel={rangeInfo.caption}
                    rows={rows}
                    format={fmtRate}
                    lines={[
                      { key: "messagesIn", name: "Messages in", color: IN },
                      { key: "messagesOut", name: "Messages out", color: OUT },
                    ]}
                  />
                  <TrafficChart
                    title="Bytes/s"
                    rangeLabel={rangeInfo.caption}
                    rows={rows}
                    format={bytesRate}
                    axisFormat={fmtBytes}
                    lines={[
                      { key: "bytesIn", name: "Bytes in", color: IN },
                      { key: "bytesOut", name: "Bytes out", color: OUT },
                    ]}
                  />
                  <TrafficChart title="Connections" integers rangeLabel={rangeInfo.caption.replace("averages", "peaks")} rows={rows} format={fmtNumber} lines={[{ key: "connections", name: "Connections", color: "#6b4fbb" }]} />
                </div>
              )}
            </section>

            <section aria-labelledby="top-topics-title">
              <h2 id="top-topics-title">Top topics</h2>
              {stats && stats.topTopics.length > 0 ? (
                <DataTable
                  caption="Topics with the most messages published in the last minute"
                  head={
                    <>
                      <th scope="col">Topic</th>
                      <th scope="col" className="num">
                        Messages (last minute)
                      </th>
                      <th scope="col" className="num hide-narrow">
                        Bytes
                      </th>
                    </>
                  }
                >
                  {stats.topTopics.map((t) => (
                    <tr key={t.topic}>
                      <td className="mono topic">{t.topic}</td>
                      <td className="num">{fmtNumber(t.messages)}</td>
                      <td className="num hide-narrow">{fmtBytes(t.bytes)}</td>
                    </tr>
                  ))}
                </DataTable>
              ) : (
                <div className="card empty small" role="status">
                  No messages were published in the last minute.
                </div>
              )}
            </section>
          </>
        )}
      </div>
    </>
  );
}
