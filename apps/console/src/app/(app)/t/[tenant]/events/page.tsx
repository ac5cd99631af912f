import type { Metadata } from "next";
import Link from "next/link";
import type { monitoring } from "@halyard/api-contract";
import { Badge, Empty, ErrorPanel, PageHeader, Pager, withQuery } from "@/components/ui.tsx";
import { api, ApiError, type Page } from "@/lib/api.ts";
import { fmtAgo, fmtDate } from "@/lib/format.ts";
import { tenantApi } from "@/lib/tenant.ts";
import { DataTable } from "@/components/table.tsx";
import { FilterBar, SelectFilter, TextFilter } from "@/components/filters.tsx";
import type { TenantPageProps } from "@/lib/page-props.ts";

export const metadata: Metadata = { title: "Connection events" };

type ConnectionEvent = monitoring.ConnectionEvent;
type EventType = ConnectionEvent["type"];

const PAGE_SIZE = 50;

const types: Record<EventType, { label: string; tone?: "ok" | "warn" | "bad" | "info" }> = {
  connected: { label: "Connected", tone: "ok" },
  disconnected: { label: "Disconnected" },
  auth_failed: { label: "Authentication failed", tone: "bad" },
  kicked: { label: "Kicked", tone: "warn" },
};

/** The tenant's connection log, newest first: who connected, left, failed to log in or was disconnected. */
export default async function EventsPage({ params, searchParams }: TenantPageProps) {
  const { tenant } = await params;
  const q = await searchParams;
  const pageNo = Number(q.page ?? 1) || 1;
  const type = q.type && q.type in types ? (q.type as EventType) : undefined;
  const clientId = q.clientId || undefined;
  const base = `/t/${tenant}/events`;
  const filtered = Boolean(type || clientId);

  let data: Page<ConnectionEvent> | undefined;
  let error: unknown;
  try {
    data = await api<Page<ConnectionEvent>>(tenantApi(tenant, "/events"), { query: { clientId, type, page: pageNo, pageSize: PAGE_SIZE } });
  } catch (err) {
    error = err;
  }
  const clientIdError = error instanceof ApiError && error.status === 400 ? error.problem.errors?.find((e) => e.path === "clientId")?.message : undefined;

  return (
    <>
      <PageHeader title="Connection events" description="Connects, disconnects, refused logins and administrative disconnects, newest first." />
      <div className="stack">
        <FilterBar label="Filter connection events" clearHref={filtered && base}>
          <TextFilter grow id="events-client" label="Client ID" name="clientId" className="mono" defaultValue={clientId ?? ""} placeholder="Any client" error={clientIdError} />
          <SelectFilter id="events-type" name="type" label="Type" value={type} any="All types" options={Object.entries(types).map(([value, t]) => [value, t.label] as const)} />
        </FilterBar>

        {error && !clientIdError ? <ErrorPanel error={error} /> : null}
        {!data ? null : data.items.length === 0 ? (
          <Empty title={filtered ? "No events match" : "No connection events yet"}>
            {filtered ? "Try another client ID or type, or clear the filters." : "Events appear here when clients connect, disconnect or fail to log in."}
          </Empty>
        ) : (
          <DataTable
            head={
              <>
                <th>Time</th>
                <th>Event</th>
                <th>Client ID</th>
                <th className="hide-narrow">Username</th>
                <th className="hide-narrow">Address</th>
                <th>Reason</th>
              </>
            }
          >
            {data.items.map((e, i) => {
              const t = types[e.type] ?? { label: e.type };
              return (
                <tr key={`${e.at}-${e.clientId}-${i}`}>
                  <td className="small nowrap">
                    <time dateTime={e.at} title={fmtDate(e.at)}>
                      {fmtDate(e.at)}
                    </time>
                    <div className="muted">{fmtAgo(e.at)}</div>
                  </td>
                  <td>
                    <Badge tone={t.tone}>{t.label}</Badge>
                  </td>
                  <td className="mono">
                    <Link href={withQuery(base, {}, { clientId: e.clientId, type })}>{e.clientId || "(empty)"}</Link>
                  </td>
                  <td className="hide-narrow small">{e.username ?? "—"}</td>
                  <td className="hide-narrow small mono">{e.address ?? "—"}</td>
                  <td className="small">{e.reason ?? "—"}</td>
                </tr>
              );
            })}
          </DataTable>
        )}
        {data ? <Pager page={data.page} pageSize={data.pageSize} total={data.total} href={(p) => withQuery(base, { clientId, type }, { page: p })} /> : null}
      </div>
    </>
  );
}
