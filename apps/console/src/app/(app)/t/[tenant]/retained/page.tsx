import type { Metadata } from "next";
import Link from "next/link";
import type { monitoring } from "@halyard/api-contract";
import { Badge, Empty, ErrorPanel, PageHeader, withQuery } from "@/components/ui.tsx";
import { api, ApiError } from "@/lib/api.ts";
import { fmtBytes, fmtDate } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import { ClearRetainedForm } from "./retained-forms.tsx";
import { DataTable } from "@/components/table.tsx";
import { FilterBar, TextFilter } from "@/components/filters.tsx";
import type { TenantPageProps } from "@/lib/page-props.ts";

export const metadata: Metadata = { title: "Retained messages" };

type Retained = monitoring.RetainedMessage;

const LIMITS = [100, 1000];
const PREVIEW_BYTES = 256;

/** Retained messages of the tenant matching a topic filter (sorted by topic, at most `limit`). */
export default async function RetainedPage({ params, searchParams }: TenantPageProps) {
  const { tenant } = await params;
  const q = await searchParams;
  const filter = q.filter?.trim() ? q.filter.trim() : "#";
  const limit = LIMITS.includes(Number(q.limit)) ? Number(q.limit) : (LIMITS[0] as number);
  const base = `/t/${tenant}/retained`;
  const canClear = await allowed(tenant, "tenant_operator");

  let items: Retained[] | undefined;
  let error: unknown;
  try {
    items = await api<Retained[]>(tenantApi(tenant, "/retained"), { query: { filter, limit } });
  } catch (err) {
    error = err;
  }
  const filterError = error instanceof ApiError && error.status === 400 ? (error.problem.errors?.find((e) => e.path === "filter")?.message ?? error.problem.detail) : undefined;
  const query = new URLSearchParams(Object.entries({ filter: q.filter, limit: q.limit }).filter((e): e is [string, string] => !!e[1])).toString();

  return (
    <>
      <PageHeader title="Retained messages" description="The last retained message of each topic, as new subscribers receive it." />
      <div className="stack">
        {q.cleared ? (
          <div className="alert success" role="status">
            Cleared the retained message on <code>{q.cleared}</code>.
          </div>
        ) : null}
        <FilterBar label="Filter retained messages" submit="Show">
          <TextFilter
            grow
            id="retained-filter"
            label="Topic filter"
            name="filter"
            className="mono"
            defaultValue={filter}
            spellCheck={false}
            autoCapitalize="off"
            error={filterError}
            hint={
              <>
                MQTT wildcards work: <code>sensors/+/status</code>, <code>#</code> for all.
              </>
            }
          />
        </FilterBar>

        {error && !filterError ? <ErrorPanel error={error} /> : null}
        {items === undefined ? null : items.length === 0 ? (
          <Empty title={filter === "#" ? "No retained messages" : "No retained message matches"}>
            {filter === "#"
              ? "Messages published with the retain flag appear here, one per topic."
              : `Nothing retained matches ${filter}. Try a broader filter such as #.`}
          </Empty>
        ) : (
          <>
            <p className="muted small">
              {items.length >= limit ? `Showing the first ${items.length} topics matching ${filter}.` : `${items.length} topic${items.length === 1 ? "" : "s"} match ${filter}.`}{" "}
              {items.length >= limit && limit < (LIMITS[LIMITS.length - 1] as number) ? (
                <Link href={withQuery(base, { filter: q.filter }, { limit: LIMITS[LIMITS.length - 1] })}>Show up to {LIMITS[LIMITS.length - 1]}</Link>
              ) : null}
            </p>
            <DataTable
              head={
                <>
                  <th>Topic</th>
                  <th className="num">QoS</th>
                  <th className="num">Size</th>
                  <th>Payload</th>
                  <th className="hide-narrow">Stored</th>
                  {canClear ? (
                    <th>
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </>
              }
            >
              {items.map((m) => (
                <tr key={m.topic}>
                  <td className="mono topic-cell">{m.topic}</td>
                  <td className="num">{m.qos}</td>
                  <td className="num small">{fmtBytes(m.payloadSize)}</td>
                  <td className="payload-cell">
                    <Badge tone={m.payloadEncoding === "utf8" ? "info" : "warn"}>{m.payloadEncoding === "utf8" ? "UTF-8" : "Base64"}</Badge>{" "}
                    <code className="payload" title={m.payloadPreview}>
                      {m.payloadPreview}
                    </code>
                    {m.payloadSize > PREVIEW_BYTES ? <span className="muted small"> (first {PREVIEW_BYTES} bytes)</span> : null}
                  </td>
                  <td className="hide-narrow small">{m.at ? fmtDate(m.at) : "—"}</td>
                  {canClear ? (
                    <td>
                      <ClearRetainedForm tenant={tenant} topic={m.topic} query={query} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </DataTable>
          </>
        )}
      </div>
    </>
  );
}
