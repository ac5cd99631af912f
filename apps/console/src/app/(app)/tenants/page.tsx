import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { Badge, Empty, ErrorPanel, PageHeader, Pager, withQuery } from "@/components/ui.tsx";
import { api, me, type Page } from "@/lib/api.ts";
import { fmtDate } from "@/lib/format.ts";
import type { Tenant } from "@/lib/types.ts";
import { setTenantStatus } from "./actions.ts";
import { CreateTenantForm, QuotaForm } from "./tenant-forms.tsx";
import { DataTable } from "@/components/table.tsx";

export const metadata: Metadata = { title: "Tenants" };

export default async function TenantsPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const m = await me();
  if (!m.platformAdmin) notFound();
  const q = await searchParams;
  const pageNo = Number(q.page ?? 1) || 1;
  let data: Page<Tenant>;
  try {
    data = await api<Page<Tenant>>("/api/v1/tenants", { query: { q: q.q, page: pageNo, pageSize: 25 } });
  } catch (err) {
    return <ErrorPanel error={err} />;
  }
  return (
    <>
      <PageHeader title="Tenants" description="Every tenant is an isolated namespace with its own devices, permissions and quotas." />
      <div className="stack">
        <form className="inline-form" role="search">
          <div className="field">
            <label htmlFor="tq" className="sr-only">Search tenants</label>
            <input id="tq" name="q" defaultValue={q.q ?? ""} placeholder="Search by slug or name" />
          </div>
          <button type="submit">Search</button>
        </form>
        {data.items.length === 0 ? (
          <Empty title={q.q ? "No tenant matches" : "No tenants yet"}>{q.q ? "Try another search." : "Create the first tenant below."}</Empty>
        ) : (
          <DataTable
            head={
              <>
                <th>Tenant</th>
                <th>Status</th>
                <th className="hide-narrow">Created</th>
                <th>Quotas</th>
                <th><span className="sr-only">Actions</span></th>
              </>
            }
          >
            {data.items.map((t) => (
              <tr key={t.id}>
                <td>
                  <Link href={`/t/${t.slug}`}><strong>{t.name}</strong></Link>
                  <div className="muted small mono">{t.slug}</div>
                </td>
                <td>{t.status === "active" ? <Badge tone="ok">Active</Badge> : <Badge tone="bad">Suspended</Badge>}</td>
                <td className="hide-narrow small">{fmtDate(t.createdAt)}</td>
                <td>
                  <details>
                    <summary className="small">
                      {Object.values(t.quotas).filter((v) => v !== null && v !== undefined).length} set
                    </summary>
                    <QuotaForm tenant={t} />
                  </details>
                </td>
                <td>
                  <form action={setTenantStatus}>
                    <input type="hidden" name="tenant" value={t.slug} />
                    <input type="hidden" name="status" value={t.status === "active" ? "suspended" : "active"} />
                    <button type="submit" className={t.status === "active" ? "danger small" : "small"}>
                      {t.status === "active" ? "Suspend" : "Resume"}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
        <Pager page={data.page} pageSize={data.pageSize} total={data.total} href={(p) => withQuery("/tenants", { q: q.q }, { page: p })} />
        <CreateTenantForm />
      </div>
    </>
  );
}
