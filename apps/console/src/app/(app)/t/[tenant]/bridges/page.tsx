import type { Metadata } from "next";
import { Badge, Empty, ErrorPanel, PageHeader } from "@/components/ui.tsx";
import { ActionsHead, DataTable } from "@/components/table.tsx";
import { Notices } from "@/components/parts/notices.tsx";
import { api, type Page } from "@/lib/api.ts";
import { fmtAgo, fmtDate, fmtNumber } from "@/lib/format.ts";
import type { TenantPageProps } from "@/lib/page-props.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import type { Bridge, BridgeStatus } from "@/lib/types.ts";
import { AutoRefresh } from "../clients/auto-refresh.tsx";
import { BridgeActions, CreateBridgeForm } from "./bridge-forms.tsx";

export const metadata: Metadata = { title: "Bridges" };

/** The API's page size limit; a tenant with more bridges than this is not a case the page pages for. */
const PAGE_SIZE = 200;

const directions: Record<Bridge["direction"], string> = { out: "Out", in: "In", both: "Both" };
const directionHints: Record<Bridge["direction"], string> = {
  out: "Local messages are sent to the remote",
  in: "Remote messages are published here",
  both: "Both ways",
};

const states: Record<BridgeStatus["state"], { label: string; tone?: "ok" | "warn" | "bad" | "info" }> = {
  connected: { label: "Connected", tone: "ok" },
  connecting: { label: "Connecting", tone: "warn" },
  error: { label: "Error", tone: "bad" },
  standby: { label: "Standby", tone: "info" },
  disabled: { label: "Disabled" },
};

/**
 * MQTT bridges of the tenant to remote brokers, with each bridge's live state
 * and counters as this broker process sees them; refreshed every 5 s.
 */
export default async function BridgesPage({ params }: TenantPageProps) {
  const { tenant } = await params;
  const isAdmin = await allowed(tenant, "tenant_admin");
  const header = (
    <PageHeader
      title="Bridges"
      description={
        <>
          A bridge links this tenant to another MQTT broker. <strong>Out</strong> sends the tenant&apos;s messages matching the local filter to the remote,{" "}
          <strong>in</strong> publishes the remote&apos;s matching messages here, <strong>both</strong> does both without loops. The optional remote prefix is put in
          front of topics on the remote side (and removed from what comes in), so <code>site-1/</code> turns <code>sensors/t</code> into <code>site-1/sensors/t</code>.
        </>
      }
      actions={<AutoRefresh renderedAt={new Date().toISOString()} />}
    />
  );
  let bridges: Bridge[];
  try {
    bridges = (await api<Page<Bridge>>(tenantApi(tenant, "/bridges"), { query: { pageSize: PAGE_SIZE } })).items;
  } catch (err) {
    return (
      <>
        {header}
        <ErrorPanel error={err} />
      </>
    );
  }
  // One status call per bridge, in parallel; a failed one shows as unknown rather than failing the page.
  const statuses = await Promise.allSettled(bridges.map((b) => api<BridgeStatus>(tenantApi(tenant, `/bridges/${encodeURIComponent(b.id)}/status`))));

  return (
    <>
      {header}
      <Notices>
        <div className="stack">
          {bridges.length === 0 ? (
            <Empty title="No bridges yet">
              A bridge forwards messages between this tenant and another MQTT broker, for example to send sensor readings to a cloud broker or to receive commands from
              it. {isAdmin ? "Create one below." : "A tenant admin can create one."}
            </Empty>
          ) : (
            <DataTable
              caption="Bridges"
              head={
                <>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Remote URL</th>
                  <th scope="col">Direction</th>
                  <th scope="col">Local filter</th>
                  <th scope="col" className="hide-narrow">
                    Remote prefix
                  </th>
                  <th scope="col" className="num" title="Messages forwarded out to the remote / in from the remote">
                    Out / in
                  </th>
                  <th scope="col" className="num hide-narrow" title="Messages dropped (buffer full, QoS 0 while unreachable, expired, invalid topic) / waiting for the remote">
                    Dropped / buffered
                  </th>
                  {isAdmin ? <ActionsHead /> : null}
                </>
              }
            >
              {bridges.map((b, i) => {
                const s = statuses[i];
                const status = s?.status === "fulfilled" ? s.value : undefined;
                return (
                  <tr key={b.id}>
                    <td>
                      <strong>{b.name}</strong>
                    </td>
                    <td>
                      <StatusCell status={status} />
                    </td>
                    <td className="mono small">{b.remoteUrl}</td>
                    <td title={directionHints[b.direction]}>{directions[b.direction]}</td>
                    <td>
                      <code>{b.localFilter}</code>
                    </td>
                    <td className="hide-narrow">{b.remotePrefix ? <code>{b.remotePrefix}</code> : <span className="muted">—</span>}</td>
                    <td className="num">{status ? `${fmtNumber(status.forwardedOut)} / ${fmtNumber(status.forwardedIn)}` : "—"}</td>
                    <td className="num hide-narrow">{status ? `${fmtNumber(status.dropped)} / ${fmtNumber(status.buffered)}` : "—"}</td>
                    {isAdmin ? (
                      <td>
                        <BridgeActions tenant={tenant} id={b.id} name={b.name} enabled={b.enabled} />
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </DataTable>
          )}
          {isAdmin ? (
            <section className="card bridges-create">
              <CreateBridgeForm tenant={tenant} />
            </section>
          ) : null}
        </div>
      </Notices>
    </>
  );
}

function StatusCell({ status }: { status: BridgeStatus | undefined }) {
  if (!status) return <Badge>Unknown</Badge>;
  const { label, tone } = states[status.state];
  return (
    <>
      <Badge tone={tone}>{label}</Badge>
      <div className="muted small">
        <time dateTime={status.since} title={fmtDate(status.since)}>
          changed {fmtAgo(status.since)}
        </time>
      </div>
      {status.lastError ? <div className="error-text small">{status.lastError}</div> : null}
    </>
  );
}
