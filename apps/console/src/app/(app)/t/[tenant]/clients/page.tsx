import type { Metadata } from "next";
import Link from "next/link";
import type { monitoring } from "@halyard/api-contract";
import { Badge, Empty, ErrorPanel, PageHeader, Pager, withQuery } from "@/components/ui.tsx";
import { api, type Page } from "@/lib/api.ts";
import { fmtAgo, fmtDate, fmtNumber } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import { AutoRefresh } from "./auto-refresh.tsx";
import { DisconnectForm } from "./client-forms.tsx";
import { ExpandableRow } from "./expandable-row.tsx";
import { DataTable } from "@/components/table.tsx";
import type { TenantPageProps } from "@/lib/page-props.ts";

export const metadata: Metadata = { title: "Connected clients" };

type Client = monitoring.ConnectedClient;

const PAGE_SIZE = 50;
const NEVER = 4294967295;

const protocols: Record<Client["protocolVersion"], string> = { 3: "MQTT 3.1", 4: "MQTT 3.1.1", 5: "MQTT 5" };

function seconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

function sessionExpiry(c: Client): string {
  if (c.sessionExpiryInterval === 0) return "Ends with the connection";
  if (c.sessionExpiryInterval >= NEVER) return "Never expires";
  return `Kept ${seconds(c.sessionExpiryInterval)} after disconnect`;
}

/** Live MQTT connections of the tenant, from the broker process that answers; refreshed every 5 s. */
export default async function ClientsPage({ params, searchParams }: TenantPageProps) {
  const { tenant } = await params;
  const q = await searchParams;
  const pageNo = Number(q.page ?? 1) || 1;
  const base = `/t/${tenant}/clients`;
  const canDisconnect = await allowed(tenant, "tenant_operator");
  const header = (
    <PageHeader
      title="Connected clients"
      description="MQTT clients connected right now, with their subscriptions and session state."
      actions={<AutoRefresh renderedAt={new Date().toISOString()} />}
    />
  );
  let data: Page<Client>;
  try {
    data = await api<Page<Client>>(tenantApi(tenant, "/clients"), { query: { search: q.q, page: pageNo, pageSize: PAGE_SIZE } });
  } catch (err) {
    return (
      <>
        {header}
        <ErrorPanel error={err} />
      </>
    );
  }
  const query = new URLSearchParams(Object.entries({ q: q.q, page: q.page }).filter((e): e is [string, string] => !!e[1])).toString();
  const colSpan = canDisconnect ? 7 : 6;
  return (
    <>
      {header}
      <div className="stack">
        {q.disconnected ? (
          <div className="alert success" role="status">
            Client <code>{q.disconnected}</code> disconnected.
          </div>
        ) : null}
        <form className="inline-form" role="search" aria-label="Search connected clients">
          <div className="field grow">
            <label htmlFor="clients-q" className="sr-only">
              Search clients
            </label>
            <input id="clients-q" name="q" type="search" defaultValue={q.q ?? ""} placeholder="Search by client ID or username" />
          </div>
          <button type="submit">Search</button>
          {q.q ? (
            <Link className="button" href={base}>
              Clear
            </Link>
          ) : null}
        </form>
        <p className="muted small" aria-live="polite">
          {data.total === 0 ? "" : `${fmtNumber(data.total)} client${data.total === 1 ? "" : "s"} ${q.q ? `matching “${q.q}”` : "connected"}.`}
        </p>
        {data.items.length === 0 && data.total > 0 ? (
          <Empty title="This page is empty" action={<Link href={withQuery(base, { q: q.q }, {})}>Go to the first page</Link>}>
            Clients disconnected since you opened it.
          </Empty>
        ) : data.items.length === 0 ? (
          <Empty title={q.q ? "No connected client matches" : "No clients connected"}>
            {q.q ? "Try another search, or clear it." : "Clients appear here as soon as they connect. The list refreshes every 5 seconds."}
          </Empty>
        ) : (
          <DataTable
            head={
              <>
                <th>Client</th>
                <th>Protocol</th>
                <th className="hide-narrow">Address</th>
                <th>Connected</th>
                <th className="num hide-narrow" title="Messages in flight / queued">
                  In flight / queued
                </th>
                <th>Subscriptions</th>
                {canDisconnect ? (
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                ) : null}
              </>
            }
          >
            {data.items.map((c) => (
              <ExpandableRow
                key={c.clientId}
                colSpan={colSpan}
                label={`${c.subscriptions.length} subscription${c.subscriptions.length === 1 ? "" : "s"}`}
                cells={
                  <>
                    <td>
                      {c.deviceId ? (
                        <Link href={`/t/${tenant}/devices/${c.deviceId}`} className="mono">
                          {c.clientId}
                        </Link>
                      ) : (
                        <span className="mono">{c.clientId}</span>
                      )}
                      {c.username && c.username !== c.clientId ? <div className="muted small">as {c.username}</div> : null}
                    </td>
                    <td className="small">
                      {protocols[c.protocolVersion]} <Badge tone={c.transport === "tls" || c.transport === "wss" ? "ok" : undefined}>{c.transport.toUpperCase()}</Badge>
                    </td>
                    <td className="hide-narrow small mono">{c.address ?? "—"}</td>
                    <td className="small">
                      <time dateTime={c.connectedAt} title={fmtDate(c.connectedAt)}>
                        {fmtAgo(c.connectedAt)}
                      </time>
                    </td>
                    <td className="num hide-narrow">
                      {fmtNumber(c.inflight)} / {fmtNumber(c.queued)}
                    </td>
                  </>
                }
                after={
                  canDisconnect ? (
                    <td>
                      <DisconnectForm tenant={tenant} clientId={c.clientId} query={query} />
                    </td>
                  ) : null
                }
                detail={<ClientDetail c={c} />}
              />
            ))}
          </DataTable>
        )}
        <Pager page={data.page} pageSize={data.pageSize} total={data.total} href={(p) => withQuery(base, { q: q.q }, { page: p })} />
      </div>
    </>
  );
}

function ClientDetail({ c }: { c: Client }) {
  return (
    <div className="grid-2 client-detail">
      <div>
        <h3>Subscriptions</h3>
        {c.subscriptions.length === 0 ? (
          <p className="muted small">No subscriptions.</p>
        ) : (
          <ul className="plain-list">
            {c.subscriptions.map((s) => (
              <li key={s.filter}>
                <code>{s.filter}</code> <Badge>QoS {s.qos}</Badge>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div>
        <h3>Session</h3>
        <dl className="facts">
          <dt>Clean start</dt>
          <dd>{c.cleanStart ? "Yes" : "No (resumed or kept session)"}</dd>
          <dt>Session</dt>
          <dd>{sessionExpiry(c)}</dd>
          <dt>Keep-alive</dt>
          <dd>{c.keepAlive === 0 ? "None" : seconds(c.keepAlive)}</dd>
          <dt>In flight</dt>
          <dd>{fmtNumber(c.inflight)}</dd>
          <dt>Queued</dt>
          <dd>{fmtNumber(c.queued)}</dd>
          <dt>Connected at</dt>
          <dd>{fmtDate(c.connectedAt)}</dd>
        </dl>
      </div>
    </div>
  );
}
