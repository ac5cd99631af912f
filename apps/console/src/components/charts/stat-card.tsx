import type { ReactNode } from "react";
import { fmtBytes, fmtNumber, fmtRate } from "@/lib/format.ts";
import type { StreamState } from "./use-event-stream.ts";

/**
 * A named figure on a dashboard. The section's accessible name is the label
 * ("Messages in/s"), and the number sits in `data-testid="stat-value"` with
 * the unformatted value in `data-value`, so tests and assistive technology
 * find each figure by name rather than by position.
 */
export function StatCard({ label, value, raw, sub, children }: { label: string; value: string; raw: number | undefined; sub?: ReactNode; children?: ReactNode }) {
  return (
    <section className="card stat" aria-label={label}>
      <div className="label">{label}</div>
      <div className="value" data-testid="stat-value" data-value={raw ?? ""}>
        {value}
      </div>
      {sub ? <div className="sub">{sub}</div> : null}
      {children}
    </section>
  );
}

/** Counts by reason (drops, denials), largest first. */
export function Breakdown({ counts, label }: { counts: Record<string, number> | undefined; label: string }) {
  if (!counts) return null;
  const entries = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return <div className="sub">none</div>;
  return (
    <ul className="breakdown" aria-label={label}>
      {entries.map(([reason, n]) => (
        <li key={reason}>
          <span>{reason.replaceAll("-", " ").replaceAll("_", " ")}</span>
          <span className="num">{fmtNumber(n)}</span>
        </li>
      ))}
    </ul>
  );
}

export function total(counts: Record<string, number> | undefined): number {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

/** The "Live" badge: a polite status, so a screen reader hears when the stream drops and comes back. */
export function LiveBadge({ state }: { state: StreamState }) {
  const [tone, text] = state === "live" ? (["ok", "Live"] as const) : state === "reconnecting" ? (["warn", "Reconnecting…"] as const) : (["info", "Connecting…"] as const);
  return (
    <span role="status" className={`badge ${tone} live-badge ${state}`}>
      <span className="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

export const bytesRate = (n: number) => `${fmtBytes(n)}/s`;

/** A figure formatted, or a dash until the first event has come. */
export const show = (n: number | undefined, format: (n: number) => string) => (n === undefined ? "—" : format(n));

/** The heading of a live dashboard, with its stream's Live badge. */
export function LiveHeader({ title, description, state }: { title: string; description: ReactNode; state: StreamState }) {
  return (
    <div className="page-head">
      <div>
        <h1>{title}</h1>
        <p>{description}</p>
      </div>
      <div className="row">
        <LiveBadge state={state} />
      </div>
    </div>
  );
}

interface Traffic {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** The traffic cards both dashboards show: message and byte rates with totals since the broker started, and drops by reason. */
export function TrafficCards({ stats }: { stats: { rates: Traffic; totals: Traffic; drops: Record<string, number> } | null }) {
  const drops = stats ? total(stats.drops) : undefined;
  return (
    <>
      <StatCard label="Messages in/s" value={show(stats?.rates.messagesIn, fmtRate)} raw={stats?.rates.messagesIn} sub={stats ? `${fmtNumber(stats.totals.messagesIn)} since broker start` : undefined} />
      <StatCard label="Messages out/s" value={show(stats?.rates.messagesOut, fmtRate)} raw={stats?.rates.messagesOut} sub={stats ? `${fmtNumber(stats.totals.messagesOut)} since broker start` : undefined} />
      <StatCard label="Bytes in/s" value={show(stats?.rates.bytesIn, bytesRate)} raw={stats?.rates.bytesIn} sub={stats ? `${fmtBytes(stats.totals.bytesIn)} since broker start` : undefined} />
      <StatCard label="Bytes out/s" value={show(stats?.rates.bytesOut, bytesRate)} raw={stats?.rates.bytesOut} sub={stats ? `${fmtBytes(stats.totals.bytesOut)} since broker start` : undefined} />
      <StatCard label="Drops" value={show(drops, fmtNumber)} raw={drops}>
        <Breakdown counts={stats?.drops} label="Drops by reason" />
      </StatCard>
    </>
  );
}
