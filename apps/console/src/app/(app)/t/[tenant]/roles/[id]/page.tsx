import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { cache } from "react";
import { Badge, Empty, ErrorPanel, PageHeader, Pager, withQuery } from "@/components/ui.tsx";
import { api, ApiError, type Page } from "@/lib/api.ts";
import { fmtDate } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import type { Binding, Device, Group, Role } from "@/lib/types.ts";
import { BindForm, DeleteRoleForm, RemoveBindingForm, type TargetOption } from "../role-forms.tsx";
import { actionLabels } from "../role-types.ts";
import { RoleEditor } from "./role-editor.tsx";
import { DataTable } from "@/components/table.tsx";

/** Loaded once per request: by the page and by its metadata. */
const loadRole = cache((tenant: string, id: string) => api<Role>(tenantApi(tenant, `/roles/${encodeURIComponent(id)}`)));

export async function generateMetadata({ params }: { params: Promise<{ tenant: string; id: string }> }): Promise<Metadata> {
  const { tenant, id } = await params;
  try {
    return { title: `Role ${(await loadRole(tenant, id)).name}` };
  } catch {
    return { title: "Role" };
  }
}

const BINDINGS_PAGE = 50;
const DEVICE_CHOICES = 50;

type Params = { tenant: string; id: string };
type Search = Record<string, string | undefined>;

/** Names for the bound targets: groups come from the group list, devices one by one (a page of bindings at most). */
async function targetNames(tenant: string, bindings: Binding[], groups: Group[]): Promise<Map<string, string>> {
  const names = new Map<string, string>(groups.map((g) => [g.id, g.name]));
  await Promise.all(
    bindings
      .filter((b) => !names.has(b.targetId))
      .map(async (b) => {
        const path = b.targetType === "device" ? `/devices/${b.targetId}` : `/groups/${b.targetId}`;
        try {
          const t = await api<Device | Group>(tenantApi(tenant, path));
          names.set(b.targetId, "clientId" in t ? t.clientId : t.name);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
      }),
  );
  return names;
}

export default async function RolePage({ params, searchParams }: { params: Promise<Params>; searchParams: Promise<Search> }) {
  const { tenant, id } = await params;
  const q = await searchParams;
  const base = `/t/${tenant}/roles/${id}`;
  const isAdmin = await allowed(tenant, "tenant_admin");
  const bindingsPage = Number(q.bp ?? 1) || 1;

  let role: Role;
  try {
    role = await loadRole(tenant, id);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) notFound();
    return (
      <>
        <PageHeader title="Role" />
        <ErrorPanel error={err} />
      </>
    );
  }

  let bindings: Page<Binding>;
  let groups: Group[];
  let devices: Page<Device> | undefined;
  let names: Map<string, string>;
  try {
    [bindings, groups, devices] = await Promise.all([
      api<Page<Binding>>(tenantApi(tenant, "/bindings"), { query: { roleId: id, page: bindingsPage, pageSize: BINDINGS_PAGE } }),
      api<Page<Group>>(tenantApi(tenant, "/groups"), { query: { pageSize: 200 } }).then((p) => p.items),
      isAdmin ? api<Page<Device>>(tenantApi(tenant, "/devices"), { query: { q: q.dq, pageSize: DEVICE_CHOICES } }) : Promise.resolve(undefined),
    ]);
    names = await targetNames(tenant, bindings.items, groups);
  } catch (err) {
    return (
      <>
        <PageHeader title={role.name} />
        <ErrorPanel error={err} />
      </>
    );
  }

  const bound = new Set(bindings.items.map((b) => b.targetId));
  const deviceOptions: TargetOption[] = (devices?.items ?? [])
    .filter((d) => !bound.has(d.id))
    .map((d) => ({ id: d.id, label: d.description ? `${d.clientId} — ${d.description}` : d.clientId }));
  const groupOptions: TargetOption[] = groups.filter((g) => !bound.has(g.id)).map((g) => ({ id: g.id, label: `${g.name} (${g.memberCount} device${g.memberCount === 1 ? "" : "s"})` }));
  const targetHref = (b: Binding) => (b.targetType === "device" ? `/t/${tenant}/devices/${b.targetId}` : withQuery(`/t/${tenant}/devices`, {}, { groupId: b.targetId }));

  return (
    <>
      <nav aria-label="Breadcrumb" className="small crumbs">
        <Link href={`/t/${tenant}/roles`}>Roles &amp; permissions</Link> <span aria-hidden="true">/</span> <span aria-current="page">{role.name}</span>
      </nav>
      <PageHeader
        title={role.name}
        description={role.description ?? `${role.rules.length} rule${role.rules.length === 1 ? "" : "s"}, updated ${fmtDate(role.updatedAt)}`}
        actions={
          <Link className="button" href={`/t/${tenant}/access`}>
            Check access
          </Link>
        }
      />
      <div className="stack">
        {q.created ? (
          <div className="alert success" role="status">
            Role created. Add its rules, save, then bind it to devices or groups below.
          </div>
        ) : null}

        {isAdmin ? (
          <RoleEditor tenant={tenant} role={role} />
        ) : (
          <ReadOnlyRules role={role} />
        )}

        <section className="card" aria-labelledby="bindings-heading">
          <h2 id="bindings-heading">Bindings</h2>
          <p className="muted small">The role&apos;s rules apply to the devices it is bound to, directly or through a device group.</p>
          {bindings.items.length === 0 ? (
            <Empty title="Not bound yet">
              {isAdmin ? "Bind this role to a device or a group below to put its rules into effect." : "No device uses this role yet."}
            </Empty>
          ) : (
            <DataTable
              head={
                <>
                  <th>Bound to</th>
                  <th>Kind</th>
                  <th className="hide-narrow">Since</th>
                  {isAdmin ? (
                    <th>
                      <span className="sr-only">Actions</span>
                    </th>
                  ) : null}
                </>
              }
            >
              {bindings.items.map((b) => {
                const name = names.get(b.targetId);
                return (
                  <tr key={b.id}>
                    <td>
                      {name ? (
                        <Link href={targetHref(b)} className={b.targetType === "device" ? "mono" : undefined}>
                          {name}
                        </Link>
                      ) : (
                        <span className="muted">Deleted {b.targetType}</span>
                      )}
                    </td>
                    <td>
                      <Badge tone={b.targetType === "group" ? "info" : undefined}>{b.targetType === "group" ? "Group" : "Device"}</Badge>
                    </td>
                    <td className="hide-narrow small">{fmtDate(b.createdAt)}</td>
                    {isAdmin ? (
                      <td>
                        <RemoveBindingForm
                          tenant={tenant}
                          roleId={role.id}
                          bindingId={b.id}
                          target={`${b.targetType} '${name ?? b.targetId}'`}
                        />
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </DataTable>
          )}
          <Pager page={bindings.page} pageSize={bindings.pageSize} total={bindings.total} href={(p) => withQuery(base, { dq: q.dq }, { bp: p })} />

          {isAdmin ? (
            <div className="grid-2 bind-pickers">
              <div>
                <h3>Bind to a device</h3>
                <form className="inline-form" role="search" aria-label="Find devices to bind">
                  {q.bp ? <input type="hidden" name="bp" value={q.bp} /> : null}
                  <div className="field grow">
                    <label htmlFor="bind-device-search">Search devices</label>
                    <input id="bind-device-search" name="dq" defaultValue={q.dq ?? ""} placeholder="Client ID or description" />
                  </div>
                  <button type="submit">Search</button>
                </form>
                <p className="muted small">
                  {devices && devices.total > DEVICE_CHOICES
                    ? `Showing the first ${DEVICE_CHOICES} of ${devices.total} matching devices; search to narrow down.`
                    : q.dq
                      ? `${devices?.total ?? 0} device${devices?.total === 1 ? "" : "s"} match “${q.dq}”.`
                      : null}
                </p>
                <BindForm tenant={tenant} roleId={role.id} targetType="device" options={deviceOptions} />
              </div>
              <div>
                <h3>Bind to a group</h3>
                <p className="muted small">Every device in the group, now and later, gets the role.</p>
                <BindForm tenant={tenant} roleId={role.id} targetType="group" options={groupOptions} />
              </div>
            </div>
          ) : null}
        </section>

        {isAdmin ? (
          <section className="card danger-zone" aria-labelledby="delete-role-heading">
            <h2 id="delete-role-heading">Delete this role</h2>
            <p className="muted small">Deleting a role removes its bindings too. Devices lose its permissions at once.</p>
            <DeleteRoleForm tenant={tenant} roleId={role.id} name={role.name} bindings={bindings.total} />
          </section>
        ) : null}
      </div>
    </>
  );
}

/** What viewers and operators see: the rules in evaluation order, read-only. */
function ReadOnlyRules({ role }: { role: Role }) {
  return (
    <section className="card" aria-labelledby="rules-heading">
      <h2 id="rules-heading">Rules</h2>
      <div className="alert info small">
        <strong>First match wins.</strong> Rules are checked by priority (lowest number first; deny before allow at equal priority), then in the
        order listed. The first rule that matches decides; if none does, the request is denied. Only tenant admins can change rules.
      </div>
      {role.rules.length === 0 ? (
        <Empty title="No rules">This role allows nothing yet.</Empty>
      ) : (
        <DataTable
          head={
            <>
              <th className="num">#</th>
              <th>Effect</th>
              <th>Action</th>
              <th>Topic filter</th>
              <th className="num hide-narrow">Priority</th>
            </>
          }
        >
          {role.rules.map((r, i) => (
            <tr key={r.id} id={`rule-${r.id}`} className="rule-row">
              <td className="num">{i + 1}</td>
              <td>
                <Badge tone={r.effect === "deny" ? "bad" : "ok"}>{r.effect === "deny" ? "Deny" : "Allow"}</Badge>
              </td>
              <td>{actionLabels[r.action]}</td>
              <td>
                <code>{r.topicFilter}</code>
              </td>
              <td className="num hide-narrow">{r.priority}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
