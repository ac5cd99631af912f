"use client";
import Link from "next/link";
import { useCallback, useState } from "react";
import { fmtNumber, fmtRate } from "@/lib/format.ts";
import type { PlatformStats } from "@/lib/types.ts";
import { LiveHeader, show, StatCard, TrafficCards } from "./stat-card.tsx";
import { useEventStream } from "./use-event-stream.ts";
import { DataTable } from "@/components/table.tsx";

/**
 * The live part of the platform overview: broker-wide figures and one row
 * per tenant, updated every second from /api/live/platform/stats (the
 * console's relay of the broker's platform stream).
 */

export function PlatformLive({ initial, names }: { initial: PlatformStats | null; names: Record<string, string> }) {
  const [stats, setStats] = useState<PlatformStats | null>(initial);
  const onStats = useCallback((s: PlatformStats) => setStats(s), []);
  const state = useEventStream<PlatformStats>("/api/live/platform/stats", "stats", onStats);
  const tenants = [...(stats?.tenants ?? [])].sort(
    (a, b) => b.connections - a.connections || b.messagesInRate + b.messagesOutRate - (a.messagesInRate + a.messagesOutRate) || a.slug.localeCompare(b.slug),
  );

  return (
    <>
      <LiveHeader title="Platform overview" description="Every tenant on this broker, updated every second." state={state} />
      <div className="stack">
        <div className="stat-grid">
          <StatCard label="Connections" value={show(stats?.connections, fmtNumber)} raw={stats?.connections} sub={stats ? `${fmtNumber(stats.sessions)} sessions` : undefined} />
          <TrafficCards stats={stats} />
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
            <DataTable
              caption="Connections and message rates per tenant"
              head={
                <>
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
                </>
              }
            >
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
            </DataTable>
          )}
        </section>
      </div>
    </>
  );
}
