import type { ReactNode } from "react";
import { fmtNumber } from "@/lib/format.ts";
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
