"use client";
import Link from "next/link";
import { useCallback, useState } from "react";
import { fmtBytes, fmtNumber, fmtRate } from "@/lib/format.ts";
import type { PlatformStats } from "@/lib/types.ts";
import { Breakdown, LiveBadge, StatCard, total } from "./stat-card.tsx";
import { useEventStream } from "./use-event-stream.ts";

/**
 * The live part of the platform overview: broker-wide figures and one row
 * per tenant, updated every second from /api/live/platform/stats (the
 * console's relay of the broker's platform stream).
 */
const bytesRate = (n: number) => `${fmtBytes(n)}/s`;

export function PlatformLive({ initial, names }: { initial: PlatformStats | null; names: Record<string, string> }) {
  const [stats, setStats] = useState<PlatformStats | null>(initial);
  const onStats = useCallback((s: PlatformStats) => setStats(s), []);
  const state = useEventStream<PlatformStats>("/api/live/platform/stats", "stats", onStats);
  const show = (n: number | undefined, format: (n: number) => string) => (n === undefined ? "—" : format(n));
  const drops = stats ? total(stats.drops) : undefined;
  const tenants = [...(stats?.tenants ?? [])].sort(
    (a, b) => b.connections - a.connections || b.messagesInRate + b.messagesOutRate - (a.messagesInRate + a.messagesOutRate) || a.slug.localeCompare(b.slug),
  );

  return (
    <>
      <div className="page-head">
        <div>
          <h1>Platform overview</h1>
          <p>Every tenant on this broker, updated every second.</p>
        </div>
        <div className="row">
          <LiveBadge state={state} />
        </div>
      </div>
      <div className="stack">
        <div className="stat-grid">
          <StatCard label="Connections" value={show(stats?.connections, fmtNumber)} raw={stats?.connections} sub={stats ? `${fmtNumber(stats.sessions)} sessions` : undefined} />
          <StatCard label="Messages in/s" value={show(stats?.rates.messagesIn, fmtRate)} raw={stats?.rates.messagesIn} sub={stats ? `${fmtNumber(stats.totals.messagesIn)} since broker start` : undefined} />
          <StatCard label="Messages out/s" value={show(stats?.rates.messagesOut, fmtRate)} raw={stats?.rates.messagesOut} sub={stats ? `${fmtNumber(stats.totals.messagesOut)} since broker start` : undefined} />
          <StatCard label="Bytes in/s" value={show(stats?.rates.bytesIn, bytesRate)} raw={stats?.rates.bytesIn} sub={stats ? `${fmtBytes(stats.totals.bytesIn)} since broker start` : undefined} />
          <StatCard label="Bytes out/s" value={show(stats?.rates.bytesOut, bytesRate)} raw={stats?.rates.bytesOut} sub={stats ? `${fmtBytes(stats.totals.bytesOut)} since broker start` : undefined} />
          <StatCard label="Drops" value={show(drops, fmtNumber)} raw={drops}>
            <Breakdown counts={stats?.drops} label="Drops by reason" />
          </StatCard>
          <StatCard label="Retained" value={show(stats?.retained, fmtNumber)} raw={stats?.retained} sub="retained messages" />
          <StatCard label="Subscriptions" value={show(stats?.subscriptions, fmtNumber)} raw={stats?.subscriptions} />
          <StatCard label="Queued" value={show(stats?.queued, fmtNumber)} raw={stats?.queued} sub={stats ? `${fmtNumber(stats.inflight)} in flight` : undefined} />
        </div>

        <section aria-labelledby="tenants-title">
          <h2 id="tenants-title">Tenants</h2>
          {stats && tenants.length === 0 ? (
            <div className="card empty" role="status">
              <h3>No tenants yet</h3>
              <p>
                <Link href="/tenants">Create a tenant</Link>, or run <code>npm run demo</code> to provision a simulated factory.
              </p>
            </div>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="sr-only">Connections and message rates per tenant</caption>
                <thead>
                  <tr>
                    <th scope="col">Tenant</th>
                    <th scope="col" className="num">
                      Connections
                    </th>
                    <th scope="col" className="num">
                      Messages in/s
                    </th>
                    <th scope="col" className="num hide-narrow">
                      Messages out/s
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {tenants.map((t) => (
                    <tr key={t.slug}>
                      <td>
                        <Link href={`/t/${t.slug}`}>
                          <strong>{names[t.slug] ?? t.slug}</strong>
                        </Link>
                        <div className="muted small mono">{t.slug}</div>
                      </td>
                      <td className="num">{fmtNumber(t.connections)}</td>
                      <td className="num">{fmtRate(t.messagesInRate)}</td>
                      <td className="num hide-narrow">{fmtRate(t.messagesOutRate)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
