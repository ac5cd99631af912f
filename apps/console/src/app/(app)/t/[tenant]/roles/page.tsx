import type { Metadata } from "next";
import Link from "next/link";
import { Badge, Empty, ErrorPanel, PageHeader, Pager, withQuery } from "@/components/ui.tsx";
import { api, type Page } from "@/lib/api.ts";
import { fmtDate } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import type { Binding, Role } from "@/lib/types.ts";
import { CreateRoleForm } from "./role-forms.tsx";
import { actionLabels } from "./role-types.ts";
import { DataTable } from "@/components/table.tsx";
import type { TenantPageProps } from "@/lib/page-props.ts";

export const metadata: Metadata = { title: "Roles & permissions" };

const PAGE_SIZE = 25;

interface BindingCounts {
  devices: number;
  groups: number;
}

/** Binding counts of one role, by target kind (two one-row queries: totals only). */
async function countBindings(tenant: string, roleId: string): Promise<BindingCounts> {
  const count = (targetType: "device" | "group") =>
    api<Page<Binding>>(tenantApi(tenant, "/bindings"), { query: { roleId, targetType, pageSize: 1 } }).then((p) => p.total);
  const [devices, groups] = await Promise.all([count("device"), count("group")]);
  return { devices, groups };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Roles of a tenant: named, ordered sets of topic rules that take effect when bound to devices or groups. */
export default async function RolesPage({ params, searchParams }: TenantPageProps) {
  const { tenant } = await params;
  const q = await searchParams;
  const pageNo = Number(q.page ?? 1) || 1;
  const isAdmin = await allowed(tenant, "tenant_admin");
  let data: Page<Role>;
  let counts: BindingCounts[];
  try {
    data = await api<Page<Role>>(tenantApi(tenant, "/roles"), { query: { page: pageNo, pageSize: PAGE_SIZE } });
    counts = await Promise.all(data.items.map((r) => countBindings(tenant, r.id)));
  } catch (err) {
    return (
      <>
        <PageHeader title="Roles & permissions" />
        <ErrorPanel error={err} />
      </>
    );
  }
  const base = `/t/${tenant}/roles`;
  return (
    <>
      <PageHeader
        title="Roles & permissions"
        description="A role is an ordered list of allow and deny rules on topic filters. Bind it to devices or device groups to put it into effect."
      />
      <div className="stack">
        {q.deleted ? (
          <div className="alert success" role="status">
            Role deleted, with its bindings.
          </div>
        ) : null}
        {data.items.length === 0 ? (
          <Empty title="No roles yet">
            {isAdmin
              ? "Devices can do nothing until a role allows it. Create a role below, add rules, then bind it to devices or groups."
              : "Devices can do nothing until a role allows it. A tenant admin can create roles here."}
          </Empty>
        ) : (
          <DataTable
            head={
              <>
                <th>Role</th>
                <th>Rules</th>
                <th>Bound to</th>
                <th className="hide-narrow">Updated</th>
              </>
            }
          >
            {data.items.map((r, i) => {
              const c = counts[i] ?? { devices: 0, groups: 0 };
              return (
                <tr key={r.id}>
                  <td>
                    <Link href={`${base}/${r.id}`}>
                      <strong>{r.name}</strong>
                    </Link>
                    {r.description ? <div className="muted small">{r.description}</div> : null}
                  </td>
                  <td>
                    <div>{plural(r.rules.length, "rule", "rules")}</div>
                    {r.rules.slice(0, 2).map((rule) => (
                      <div key={rule.id} className="muted small">
                        <span className={rule.effect === "deny" ? "perm-deny" : "perm-allow"}>{rule.effect === "deny" ? "Deny" : "Allow"}</span>{" "}
                        {actionLabels[rule.action].toLowerCase()} <code>{rule.topicFilter}</code>
                      </div>
                    ))}
                    {r.rules.length > 2 ? <div className="muted small">and {r.rules.length - 2} more</div> : null}
                  </td>
                  <td>
                    {c.devices + c.groups === 0 ? (
                      <Badge tone="warn">Not bound</Badge>
                    ) : (
                      <span>
                        {[c.devices ? plural(c.devices, "device", "devices") : "", c.groups ? plural(c.groups, "group", "groups") : ""]
                          .filter(Boolean)
                          .join(", ")}
                      </span>
                    )}
                  </td>
                  <td className="hide-narrow small">{fmtDate(r.updatedAt)}</td>
                </tr>
              );
            })}
          </DataTable>
        )}
        <Pager page={data.page} pageSize={data.pageSize} total={data.total} href={(p) => withQuery(base, {}, { page: p })} />
        {isAdmin ? <CreateRoleForm tenant={tenant} /> : null}
      </div>
    </>
  );
}
