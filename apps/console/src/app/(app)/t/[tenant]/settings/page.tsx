/**
 * Tenant settings: the tenant's name, who may manage it (members and API
 * keys, tenant admins only), device groups, and the certificate authorities
 * that sign device certificates. Each section loads on its own, so a section
 * the user may not read (403) does not hide the others.
 */
import type { Metadata } from "next";
import Link from "next/link";
import { Badge, ErrorPanel, PageHeader } from "@/components/ui.tsx";
import { api, me, roleIn, type Page } from "@/lib/api.ts";
import { env } from "@/lib/env.ts";
import { fmtAgo, fmtDate } from "@/lib/format.ts";
import { loadTenant, tenantApi } from "@/lib/tenant.ts";
import type { ApiKey, Authority, Group, Membership, Tenant } from "@/lib/types.ts";
import { Notices } from "@/components/parts/notices.tsx";
import { roleLabel, rolesUpTo } from "./roles.ts";
import {
  AddMemberForm,
  CreateApiKeyForm,
  CreateAuthorityForm,
  CreateGroupForm,
  DeleteGroupButton,
  MemberActions,
  RenameTenantForm,
  RevokeApiKeyButton,
  RevokeAuthorityButton,
} from "./settings-forms.tsx";
import { ActionsHead, DataTable } from "@/components/table.tsx";
import { settle, type Settled } from "@/lib/settle.ts";

export const metadata: Metadata = { title: "Settings" };

const MAX = 200;


const none: Promise<Settled<never>> = Promise.resolve({ ok: false, error: undefined });

export default async function SettingsPage({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const role = roleIn(await me(), tenant);
  const admin = role === "tenant_admin";
  const operator = admin || role === "tenant_operator";
  const [t, members, groups, keys, authorities] = await Promise.all([
    settle(loadTenant(tenant)),
    admin ? settle(api<Page<Membership>>(tenantApi(tenant, "/members"), { query: { pageSize: MAX } })) : none,
    settle(api<Page<Group>>(tenantApi(tenant, "/groups"), { query: { pageSize: MAX } })),
    admin ? settle(api<Page<ApiKey>>(tenantApi(tenant, "/api-keys"), { query: { pageSize: MAX } })) : none,
    settle(api<Page<Authority>>(tenantApi(tenant, "/authorities"), { query: { pageSize: MAX } })),
  ]);
  const issuers = [...new Set([env().CONSOLE_OIDC_ISSUER, ...(members.ok ? members.value.items.map((m) => m.issuer) : []), "local"].filter((i): i is string => !!i))];
  const now = Date.now();
  const sections: [string, string][] = [
    ["tenant", "Tenant"],
    ["members", "Members"],
    ["groups", "Groups"],
    ["api-keys", "API keys"],
    ["authorities", "Certificate authorities"],
  ];

  return (
    <>
      <PageHeader title="Settings" description="The tenant, the people and keys that manage it, device groups and certificate authorities." />
      <nav className="tabs" aria-label="Settings sections">
        {sections.map(([id, label]) => (
          <a key={id} href={`#${id}`}>
            {label}
          </a>
        ))}
      </nav>
      <div className="stack prov">
        <section className="card anchor" id="tenant" aria-labelledby="h-tenant">
          <h2 id="h-tenant">Tenant</h2>
          {t.ok ? <TenantFacts t={t.value} /> : <ErrorPanel error={t.error} />}
          {admin && t.ok ? <RenameTenantForm tenant={tenant} name={t.value.name} /> : null}
        </section>

        <section className="card anchor" id="members" aria-labelledby="h-members">
          <h2 id="h-members">Members</h2>
          <p className="small muted">
            People and their role in this tenant: viewers read, operators manage devices and permissions, admins also manage members, API keys and certificate authorities.
            Roles from the identity provider&apos;s groups apply as well; the higher one wins.
          </p>
          {!admin ? (
            <p className="small">Only tenant admins can see and manage members.</p>
          ) : !members.ok ? (
            <ErrorPanel error={members.error} />
          ) : (
            <Notices>
              {members.value.items.length === 0 ? (
                <p className="muted small">No members recorded here yet: access comes from identity provider groups only.</p>
              ) : (
                <DataTable
                  caption="Members"
                  head={
                    <>
                      <th scope="col">Member</th>
                      <th scope="col" className="hide-narrow">Issuer</th>
                      <th scope="col">Role</th>
                      <th scope="col" className="hide-narrow">Added</th>
                    </>
                  }
                >
                  {members.value.items.map((m) => {
                    const label = m.displayName ?? m.email ?? m.subject;
                    return (
                      <tr key={m.userId}>
                        <td>
                          <strong>{label}</strong>
                          {m.email && m.email !== label ? <div className="muted small">{m.email}</div> : null}
                          <div className="muted small mono">{m.subject}</div>
                        </td>
                        <td className="hide-narrow small mono">{m.issuer}</td>
                        <td>
                          <MemberActions tenant={tenant} member={m} label={label} />
                        </td>
                        <td className="hide-narrow small">{fmtDate(m.createdAt)}</td>
                      </tr>
                    );
                  })}
                </DataTable>
              )}
              <AddMemberForm tenant={tenant} issuers={issuers} />
            </Notices>
          )}
        </section>

        <section className="card anchor" id="groups" aria-labelledby="h-groups">
          <h2 id="h-groups">Groups</h2>
          <p className="small muted">Groups collect devices so one role binding covers them all. Add devices to groups on each device&apos;s page or in a CSV import.</p>
          {!groups.ok ? (
            <ErrorPanel error={groups.error} />
          ) : (
            <Notices>
              {groups.value.items.length === 0 ? (
                <p className="muted small">No groups yet.</p>
              ) : (
                <DataTable
                  caption="Groups"
                  head={
                    <>
                      <th scope="col">Group</th>
                      <th scope="col" className="num">
                        Devices
                      </th>
                      <th scope="col" className="hide-narrow">Created</th>
                      {operator ? <ActionsHead /> : null}
                    </>
                  }
                >
                  {groups.value.items.map((g) => (
                    <tr key={g.id}>
                      <td>
                        <strong>{g.name}</strong>
                        {g.description ? <div className="muted small">{g.description}</div> : null}
                      </td>
                      <td className="num">
                        <Link href={`/t/${tenant}/devices?groupId=${g.id}`}>
                          {g.memberCount}
                          <span className="sr-only"> devices in {g.name}</span>
                        </Link>
                      </td>
                      <td className="hide-narrow small">{fmtDate(g.createdAt)}</td>
                      {operator ? (
                        <td>
                          <DeleteGroupButton tenant={tenant} group={g} />
                        </td>
                      ) : null}
                    </tr>
                  ))}
                </DataTable>
              )}
              {operator ? <CreateGroupForm tenant={tenant} /> : null}
            </Notices>
          )}
        </section>

        <section className="card anchor" id="api-keys" aria-labelledby="h-api-keys">
          <h2 id="h-api-keys">API keys</h2>
          <p className="small muted">Keys for scripts and automation, each with a role in this tenant (at most your own).</p>
          {!admin ? (
            <p className="small">Only tenant admins can see and manage API keys.</p>
          ) : !keys.ok ? (
            <ErrorPanel error={keys.error} />
          ) : (
            <Notices>
              {keys.value.items.length === 0 ? (
                <p className="muted small">No API keys yet.</p>
              ) : (
                <DataTable
                  caption="API keys"
                  head={
                    <>
                      <th scope="col">Key</th>
                      <th scope="col">Role</th>
                      <th scope="col">Status</th>
                      <th scope="col" className="hide-narrow">Expires</th>
                      <th scope="col" className="hide-narrow">Last used</th>
                      <ActionsHead />
                    </>
                  }
                >
                  {keys.value.items.map((k) => {
                    const expired = k.expiresAt !== null && new Date(k.expiresAt).getTime() <= now;
                    return (
                      <tr key={k.id}>
                        <td>
                          <strong>{k.name}</strong>
                          <div className="muted small mono">{k.prefix}…</div>
                        </td>
                        <td className="small">{k.role ? roleLabel.get(k.role) : "Platform admin"}</td>
                        <td>{k.revokedAt ? <Badge tone="bad">Revoked</Badge> : expired ? <Badge tone="warn">Expired</Badge> : <Badge tone="ok">Active</Badge>}</td>
                        <td className="hide-narrow small">{k.expiresAt ? fmtDate(k.expiresAt) : <span className="muted">never</span>}</td>
                        <td className="hide-narrow small" suppressHydrationWarning>
                          {fmtAgo(k.lastUsedAt)}
                        </td>
                        <td>{k.revokedAt ? <span className="muted small">{fmtDate(k.revokedAt)}</span> : <RevokeApiKeyButton tenant={tenant} apiKey={k} />}</td>
                      </tr>
                    );
                  })}
                </DataTable>
              )}
              <CreateApiKeyForm tenant={tenant} roles={rolesUpTo(role)} />
            </Notices>
          )}
        </section>

        <section className="card anchor" id="authorities" aria-labelledby="h-authorities">
          <h2 id="h-authorities">Certificate authorities</h2>
          <p className="small muted">
            A tenant CA signs its devices&apos; client certificates (issued on each device&apos;s page). Download a CA certificate to let other systems verify your devices.
          </p>
          {!authorities.ok ? (
            <ErrorPanel error={authorities.error} />
          ) : (
            <Notices>
              {authorities.value.items.length === 0 ? (
                <p className="muted small">No certificate authority yet{admin ? ": create one below to issue device certificates." : "; a tenant admin can create one."}</p>
              ) : (
                <DataTable
                  caption="Certificate authorities"
                  head={
                    <>
                      <th scope="col">CA</th>
                      <th scope="col">Status</th>
                      <th scope="col" className="hide-narrow">Valid until</th>
                      <th scope="col" className="hide-narrow">Fingerprint (SHA-256)</th>
                      <ActionsHead />
                    </>
                  }
                >
                  {authorities.value.items.map((a) => {
                    const expired = new Date(a.notAfter).getTime() <= now;
                    return (
                      <tr key={a.id}>
                        <td>
                          <strong>{a.name}</strong>
                          <div className="muted small">Created {fmtDate(a.createdAt)}</div>
                        </td>
                        <td>{a.revokedAt ? <Badge tone="bad">Revoked</Badge> : expired ? <Badge tone="warn">Expired</Badge> : <Badge tone="ok">Active</Badge>}</td>
                        <td className="hide-narrow small">{fmtDate(a.notAfter)}</td>
                        <td className="hide-narrow mono small break">{a.fingerprintSha256}</td>
                        <td>
                          <div className="row nowrap">
                            <a className="button small" href={`/t/${tenant}/settings/authorities/${a.id}/pem`} download>
                              Download CA certificate<span className="sr-only"> {a.name}</span>
                            </a>
                            {admin && !a.revokedAt ? <RevokeAuthorityButton tenant={tenant} authority={a} /> : null}
                          </div>
                        </td>
                      </tr>
                    );
                  })}
                </DataTable>
              )}
              {admin ? <CreateAuthorityForm tenant={tenant} /> : null}
            </Notices>
          )}
        </section>
      </div>
    </>
  );
}

function TenantFacts({ t }: { t: Tenant }) {
  const quotas = Object.entries(t.quotas).filter(([, v]) => v !== null && v !== undefined);
  return (
    <dl className="facts">
      <dt>Name</dt>
      <dd>{t.name}</dd>
      <dt>Slug</dt>
      <dd className="mono">{t.slug}</dd>
      <dt>Status</dt>
      <dd>{t.status === "active" ? <Badge tone="ok">Active</Badge> : <Badge tone="bad">Suspended</Badge>}</dd>
      <dt>Created</dt>
      <dd>{fmtDate(t.createdAt)}</dd>
      <dt>Quotas</dt>
      <dd className="small">{quotas.length === 0 ? "none (unlimited)" : quotas.map(([k, v]) => `${k} ${String(v)}`).join(" · ")}</dd>
    </dl>
  );
}
