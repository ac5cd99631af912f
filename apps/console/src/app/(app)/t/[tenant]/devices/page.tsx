/**
 * Devices of a tenant: search and filters in the URL (so a filtered view can
 * be bookmarked or shared), live connection status refreshed every few
 * seconds, and for operators the create form and per-row actions.
 */
import type { Metadata } from "next";
import Link from "next/link";
import { unstable_rethrow } from "next/navigation";
import { Badge, Empty, PageHeader, Pager, StatusDot, withQuery } from "@/components/ui.tsx";
import { api, type Page } from "@/lib/api.ts";
import { fmtDate } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import type { Device, Group } from "@/lib/types.ts";
import { CreateDeviceForm, DeviceRowActions } from "./device-forms.tsx";
import { AutoRefresh } from "@/components/parts/client.tsx";
import { Notices } from "@/components/parts/notices.tsx";
import { ProblemPanel } from "@/components/parts/problem.tsx";
import { ActionsHead, DataTable } from "@/components/table.tsx";
import { FilterBar, SelectFilter, TextFilter } from "@/components/filters.tsx";

export const metadata: Metadata = { title: "Devices" };

const PAGE_SIZE = 25;
const FILTERS = ["q", "enabled", "connected", "tag", "groupId"] as const;

export default async function DevicesPage({ params, searchParams }: { params: Promise<{ tenant: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { tenant } = await params;
  const raw = await searchParams;
  const one = (k: string) => {
    const v = raw[k];
    return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
  };
  const filters: Record<string, string | undefined> = Object.fromEntries(FILTERS.map((k) => [k, one(k)]));
  // Selects only send values the API knows; anything else typed into the URL is dropped rather than refused.
  if (filters.enabled !== "true" && filters.enabled !== "false") filters.enabled = undefined;
  if (filters.connected !== "true" && filters.connected !== "false") filters.connected = undefined;
  const pageNo = Math.max(1, Number(one("page") ?? 1) || 1);
  const deleted = one("deleted");
  const base = `/t/${tenant}/devices`;
  const filtered = FILTERS.some((k) => filters[k] !== undefined);

  const operator = await allowed(tenant, "tenant_operator");
  const [devices, groups] = await Promise.allSettled([
    api<Page<Device>>(tenantApi(tenant, "/devices"), { query: { ...filters, page: pageNo, pageSize: PAGE_SIZE } }),
    api<Page<Group>>(tenantApi(tenant, "/groups"), { query: { pageSize: 200 } }),
  ]);
  for (const r of [devices, groups]) if (r.status === "rejected") unstable_rethrow(r.reason); // an expired session redirects to sign-in
  const groupList = groups.status === "fulfilled" ? groups.value.items : [];
  const groupName = new Map(groupList.map((g) => [g.id, g.name]));

  return (
    <>
      <PageHeader
        title="Devices"
        description="Everything that may connect to this tenant: its identity, credentials and certificates."
        actions={
          <>
            <AutoRefresh />
            {operator ? (
              <Link className="button" href={`${base}/import`}>
                Import from CSV
              </Link>
            ) : null}
          </>
        }
      />
      <div className="stack prov">
        {deleted ? (
          <div className="alert success" role="status">
            Device <strong>{deleted}</strong> deleted.
          </div>
        ) : null}
        {operator ? <CreateDeviceForm tenant={tenant} /> : null}

        <FilterBar card label="Filter devices" action={base} submit="Apply filters" clearHref={filtered && base}>
          <TextFilter grow id="dq" label="Search" name="q" type="search" defaultValue={filters.q ?? ""} placeholder="Client ID or description" />
          <SelectFilter id="denabled" name="enabled" label="Status" value={filters.enabled} any="Any" options={[["true", "Enabled"], ["false", "Disabled"]]} />
          <SelectFilter id="dconnected" name="connected" label="Connection" value={filters.connected} any="Any" options={[["true", "Online"], ["false", "Offline"]]} />
          <TextFilter id="dtag" label="Tag" name="tag" defaultValue={filters.tag ?? ""} placeholder="zone1" pattern="[A-Za-z0-9_.:=\-]+" title="One tag: letters, digits and _ . : = -" />
          <SelectFilter id="dgroup" name="groupId" label="Group" value={filters.groupId} any="Any" options={groupList.map((g) => [g.id, g.name] as const)} />
        </FilterBar>

        <Notices>
          {devices.status === "rejected" ? (
            <ProblemPanel error={devices.reason} fieldNames={{ q: "Search", tag: "Tag", groupId: "Group", enabled: "Status", connected: "Connection" }} />
          ) : devices.value.items.length === 0 ? (
            filtered ? (
              <Empty title="No device matches these filters" action={<Link href={base}>Clear filters</Link>}>
                Try another search, or clear the filters to see every device.
              </Empty>
            ) : (
              <Empty
                title="No devices yet"
                action={
                  operator ? (
                    <Link className="button" href={`${base}/import`}>
                      Import from CSV
                    </Link>
                  ) : undefined
                }
              >
                {operator ? "Create a device above, or import many at once from a CSV file." : "An operator of this tenant can add devices."}
              </Empty>
            )
          ) : (
            <>
              <DataTable
                caption="Devices"
                head={
                  <>
                    <th scope="col">Device</th>
                    <th scope="col">Connection</th>
                    <th scope="col">Tags</th>
                    <th scope="col" className="hide-narrow">Groups</th>
                    <th scope="col" className="hide-narrow">Created</th>
                    {operator ? <ActionsHead /> : null}
                  </>
                }
              >
                {devices.value.items.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Link href={`${base}/${d.id}`}>
                        <strong className="mono">{d.clientId}</strong>
                      </Link>
                      {d.description ? <div className="muted small clamp">{d.description}</div> : null}
                    </td>
                    <td>
                      <div className="row nowrap">
                        <StatusDot online={d.connected === true} />
                        {d.enabled ? null : <Badge tone="bad">Disabled</Badge>}
                      </div>
                    </td>
                    <td>
                      {d.tags.length === 0 ? (
                        <span className="muted small">—</span>
                      ) : (
                        <div className="row tags">
                          {d.tags.map((t) => (
                            <Link key={t} href={withQuery(base, {}, { tag: t })} className="badge info" title={`Devices tagged ${t}`}>
                              {t}
                            </Link>
                          ))}
                        </div>
                      )}
                    </td>
                    <td className="hide-narrow small">
                      {d.groupIds.length === 0 ? (
                        <span className="muted">—</span>
                      ) : (
                        d.groupIds.map((id, i) => (
                          <span key={id}>
                            {i > 0 ? ", " : ""}
                            <Link href={withQuery(base, {}, { groupId: id })}>{groupName.get(id) ?? "group"}</Link>
                          </span>
                        ))
                      )}
                    </td>
                    <td className="hide-narrow small">{fmtDate(d.createdAt)}</td>
                    {operator ? (
                      <td>
                        <DeviceRowActions tenant={tenant} device={d} />
                      </td>
                    ) : null}
                  </tr>
                ))}
              </DataTable>
              <Pager page={devices.value.page} pageSize={devices.value.pageSize} total={devices.value.total} href={(p) => withQuery(base, filters, { page: p })} />
            </>
          )}
        </Notices>
      </div>
    </>
  );
}
