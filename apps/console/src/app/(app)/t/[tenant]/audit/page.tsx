import type { Metadata } from "next";
import Link from "next/link";
import { Badge, Empty, ErrorPanel, PageHeader, Pager, withQuery } from "@/components/ui.tsx";
import { api, ApiError, type Page } from "@/lib/api.ts";
import { fmtDate } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import type { AuditEvent } from "@/lib/types.ts";
import { ExpandableRow } from "../clients/expandable-row.tsx";
import { diff, show } from "./diff.ts";
import { DataTable } from "@/components/table.tsx";
import { FilterBar, SelectFilter, TextFilter } from "@/components/filters.tsx";
import type { TenantPageProps } from "@/lib/page-props.ts";

export const metadata: Metadata = { title: "Audit log" };

const PAGE_SIZE = 50;

/** Resource kinds the broker records (the API filters by exact value). */
const resources: [string, string][] = [
  ["device", "Devices"],
  ["credential", "Credentials"],
  ["certificate", "Certificates"],
  ["authority", "Certificate authorities"],
  ["group", "Device groups"],
  ["role", "Roles"],
  ["binding", "Role bindings"],
  ["membership", "Members"],
  ["apikey", "API keys"],
  ["bridge", "Bridges"],
  ["tenant", "Tenant"],
  ["mqtt-client", "Disconnected clients"],
  ["retained-message", "Retained messages"],
];

/** `datetime-local` values are read as UTC (the page shows UTC everywhere). */
function sinceIso(v: string | undefined): string | undefined | null {
  if (!v) return undefined;
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Who changed what in the tenant, newest first; tenant admins only (as in the API). */
export default async function AuditPage({ params, searchParams }: TenantPageProps) {
  const { tenant } = await params;
  const q = await searchParams;
  const header = <PageHeader title="Audit log" description="Every change made in this tenant, by whom and when, with what changed. Secrets are never recorded." />;
  if (!(await allowed(tenant, "tenant_admin"))) {
    return (
      <>
        {header}
        <Empty title="Tenant administrators only">The audit log is visible to tenant administrators. Ask one of them if you need a record of a change.</Empty>
      </>
    );
  }
  const pageNo = Number(q.page ?? 1) || 1;
  const base = `/t/${tenant}/audit`;
  const since = sinceIso(q.since);
  const current = { resource: q.resource, actor: q.actor, since: q.since };
  const filtered = Boolean(q.resource || q.actor || q.since);

  let data: Page<AuditEvent> | undefined;
  let error: unknown;
  if (since !== null) {
    try {
      data = await api<Page<AuditEvent>>(tenantApi(tenant, "/audit"), {
        query: { resource: q.resource, actor: q.actor, since, page: pageNo, pageSize: PAGE_SIZE },
      });
    } catch (err) {
      error = err;
    }
  }
  const fieldError = (path: string) => (error instanceof ApiError ? error.problem.errors?.find((e) => e.path === path)?.message : undefined);
  const sinceError = since === null ? "Enter a date and time." : fieldError("since");
  const actorError = fieldError("actor");

  return (
    <>
      {header}
      <div className="stack">
        <FilterBar label="Filter the audit log" clearHref={filtered && base}>
          <SelectFilter id="audit-resource" name="resource" label="Resource" value={q.resource} any="All resources" options={resources} />
          <TextFilter
            grow
            id="audit-actor"
            label="Actor"
            name="actor"
            className="mono"
            defaultValue={q.actor ?? ""}
            placeholder="user:… or apikey:…"
            error={actorError}
            hint="Exact match; select an actor in the list to filter by it."
          />
          <TextFilter id="audit-since" label="Since (UTC)" name="since" type="datetime-local" defaultValue={q.since ?? ""} error={sinceError} />
        </FilterBar>

        {error && !sinceError && !actorError ? <ErrorPanel error={error} /> : null}
        {!data ? null : data.items.length === 0 ? (
          <Empty title={filtered ? "No audit events match" : "No changes recorded yet"}>
            {filtered ? "Try other filters, or clear them." : "Changes to devices, credentials, roles and settings are recorded here."}
          </Empty>
        ) : (
          <DataTable
            head={
              <>
                <th>Time</th>
                <th>Actor</th>
                <th>Action</th>
                <th className="hide-narrow">Resource</th>
                <th>
                  <span className="sr-only">Details</span>
                </th>
              </>
            }
          >
            {data.items.map((e) => (
              <ExpandableRow
                key={e.id}
                colSpan={5}
                label="Changes"
                cells={
                  <>
                    <td className="small nowrap">
                      <time dateTime={e.at}>{fmtDate(e.at)}</time>
                    </td>
                    <td className="small mono">
                      <Link href={withQuery(base, current, { actor: e.actor, page: undefined })} title={`Only changes by ${e.actor}`}>
                        {e.actor}
                      </Link>
                    </td>
                    <td>
                      <Badge tone={e.action.endsWith(".delete") || e.action.endsWith(".revoke") ? "bad" : e.action.endsWith(".create") ? "ok" : "info"}>
                        {e.action}
                      </Badge>
                    </td>
                    <td className="hide-narrow small">
                      <ResourceLink tenant={tenant} e={e} />
                    </td>
                  </>
                }
                detail={<AuditDetail e={e} />}
              />
            ))}
          </DataTable>
        )}
        {data ? <Pager page={data.page} pageSize={data.pageSize} total={data.total} href={(p) => withQuery(base, current, { page: p })} /> : null}
      </div>
    </>
  );
}

function ResourceLink({ tenant, e }: { tenant: string; e: AuditEvent }) {
  const id = e.resourceId;
  const href = id && e.resource === "role" ? `/t/${tenant}/roles/${id}` : id && e.resource === "device" ? `/t/${tenant}/devices/${id}` : undefined;
  return (
    <>
      {e.resource}
      {id ? (
        <div className="mono muted">
          {href && !e.action.endsWith(".delete") ? <Link href={href}>{id}</Link> : id}
        </div>
      ) : null}
    </>
  );
}

function AuditDetail({ e }: { e: AuditEvent }) {
  const { changes, truncated } = diff(e.before, e.after);
  // A creation (after only) or a deletion or disconnect (before only): list the one side's fields instead of a diff.
  const oneSided = e.before === null ? "After" : e.after === null ? "Before" : undefined;
  return (
    <div className="stack audit-detail">
      {changes.length === 0 ? (
        <p className="muted small">No field changed.</p>
      ) : (
        <div className="table-wrap">
          <table className="diff">
            <caption className="sr-only">{oneSided ?? "Changed fields"}</caption>
            <thead>
              <tr>
                <th>Field</th>
                {oneSided ? (
                  <th>{oneSided}</th>
                ) : (
                  <>
                    <th>Before</th>
                    <th>After</th>
                  </>
                )}
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.path} className={`diff-${c.kind}`}>
                  <td className="mono">{c.path}</td>
                  {oneSided ? (
                    <td className="mono">{show(c.kind === "removed" ? c.before : c.after)}</td>
                  ) : (
                    <>
                      <td className="mono diff-before">{c.kind === "added" ? <span className="muted">(none)</span> : show(c.before)}</td>
                      <td className="mono diff-after">{c.kind === "removed" ? <span className="muted">(removed)</span> : show(c.after)}</td>
                    </>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {truncated ? <p className="muted small">Only the first 300 changed fields are listed; the full records are below.</p> : null}
      <details>
        <summary className="small">Full records (JSON)</summary>
        <div className="grid-2">
          <div>
            <h3>Before</h3>
            <pre>{e.before === null ? "(none)" : JSON.stringify(e.before, null, 2)}</pre>
          </div>
          <div>
            <h3>After</h3>
            <pre>{e.after === null ? "(none)" : JSON.stringify(e.after, null, 2)}</pre>
          </div>
        </div>
      </details>
    </div>
  );
}
