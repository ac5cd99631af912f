import Link from "next/link";
import type { ReactNode } from "react";
import { ApiError } from "@/lib/api.ts";

/** Server-rendered building blocks shared by every page. */

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-head">
      <div>
        <h1>{title}</h1>
        {description ? <p>{description}</p> : null}
      </div>
      {actions ? <div className="row">{actions}</div> : null}
    </div>
  );
}

export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="card empty" role="status">
      <h3>{title}</h3>
      {children ? <p>{children}</p> : null}
      {action}
    </div>
  );
}

export function Badge({ tone, children }: { tone?: "ok" | "warn" | "bad" | "info"; children: ReactNode }) {
  return <span className={`badge ${tone ?? ""}`}>{children}</span>;
}

export function StatusDot({ online }: { online: boolean }) {
  return (
    <Badge tone={online ? "ok" : undefined}>
      <span className="dot" aria-hidden="true" />
      {online ? "Online" : "Offline"}
    </Badge>
  );
}

/** Renders an API failure as a readable panel instead of a crash page. */
export function ErrorPanel({ error }: { error: unknown }) {
  const problem = error instanceof ApiError ? error.problem : undefined;
  return (
    <div className="alert error" role="alert">
      <strong>{problem?.title ?? "Something went wrong"}</strong>
      <div>{problem?.detail ?? (error as Error)?.message ?? String(error)}</div>
    </div>
  );
}

export function Pager({ page, pageSize, total, href }: { page: number; pageSize: number; total: number; href: (page: number) => string }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (total === 0) return null;
  const from = (page - 1) * pageSize + 1;
  const to = Math.min(total, page * pageSize);
  return (
    <nav className="pager" aria-label="Pagination">
      <span className="muted small">
        {from}–{to} of {total}
      </span>
      {page > 1 ? <Link className="button small" href={href(page - 1)}>Previous</Link> : <button className="small" disabled>Previous</button>}
      {page < pages ? <Link className="button small" href={href(page + 1)}>Next</Link> : <button className="small" disabled>Next</button>}
    </nav>
  );
}

/** Builds a URL for the same page with some query parameters replaced. */
export function withQuery(base: string, current: Record<string, string | undefined>, change: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...current, ...change })) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}
