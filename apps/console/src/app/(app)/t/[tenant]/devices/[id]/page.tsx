/**
 * One device: its details and live status, group membership, and the two
 * ways it can prove who it is (passwords and client certificates), with the
 * actions an operator needs to provision, rotate and revoke them.
 */
import type { Metadata } from "next";
import Link from "next/link";
import { notFound, unstable_rethrow } from "next/navigation";
import { Badge, ErrorPanel, PageHeader, StatusDot } from "@/components/ui.tsx";
import { api, ApiError, type Page } from "@/lib/api.ts";
import { env } from "@/lib/env.ts";
import { fmtDate } from "@/lib/format.ts";
import { allowed, tenantApi } from "@/lib/tenant.ts";
import type { Authority, Certificate, Credential, Device, Group } from "@/lib/types.ts";
import { AutoRefresh } from "@/components/parts/client.tsx";
import type { Endpoint } from "../snippets.ts";
import { CertificatesPanel, type CertificateRow, type CertificateStatus } from "./certificates-panel.tsx";
import { CredentialsPanel, type CredentialRow, type CredentialStatus } from "./credentials-panel.tsx";
import { DeleteDeviceForm, EditDeviceForm, EnableDeviceForm, GroupsPanel } from "./device-forms.tsx";
import { settle } from "@/lib/settle.ts";

export const metadata: Metadata = { title: "Device" };

/** The API's maximum page size: a device with more credentials or certificates than this is unusual. */
const MAX = 200;

function credentialStatus(c: Credential, now: number): CredentialStatus {
  if (c.revokedAt) return "revoked";
  if (c.expiresAt && new Date(c.expiresAt).getTime() <= now) return "expired";
  return c.enabled ? "active" : "disabled";
}

function certificateStatus(c: Certificate, now: number): CertificateStatus {
  if (c.revokedAt) return "revoked";
  if (new Date(c.notAfter).getTime() <= now) return "expired";
  if (new Date(c.notBefore).getTime() > now) return "not_yet_valid";
  return "valid";
}

export default async function DevicePage({ params }: { params: Promise<{ tenant: string; id: string }> }) {
  const { tenant, id } = await params;
  let device: Device;
  try {
    device = await api<Device>(tenantApi(tenant, `/devices/${encodeURIComponent(id)}`));
  } catch (err) {
    unstable_rethrow(err);
    // 400: not a device id at all; 404: no such device in this tenant.
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) notFound();
    return <ErrorPanel error={err} />;
  }
  const base = `/t/${tenant}/devices`;
  const [operator, credentials, certificates, groups, authorities] = await Promise.all([
    allowed(tenant, "tenant_operator"),
    settle(api<Page<Credential>>(tenantApi(tenant, `/devices/${device.id}/credentials`), { query: { pageSize: MAX } })),
    settle(api<Page<Certificate>>(tenantApi(tenant, `/devices/${device.id}/certificates`), { query: { pageSize: MAX } })),
    settle(api<Page<Group>>(tenantApi(tenant, "/groups"), { query: { pageSize: MAX } })),
    settle(api<Page<Authority>>(tenantApi(tenant, "/authorities"), { query: { pageSize: MAX } })),
  ]);
  const e = env();
  const endpoint: Endpoint = { host: e.CONSOLE_MQTT_HOST, port: e.CONSOLE_MQTT_PORT, tlsPort: e.CONSOLE_MQTTS_PORT };
  const now = Date.now();
  const groupList = groups.ok ? groups.value.items : [];
  const member = groupList.filter((g) => device.groupIds.includes(g.id));
  const others = groupList.filter((g) => !device.groupIds.includes(g.id));
  const authorityList = authorities.ok ? authorities.value.items : [];
  const authorityName = new Map(authorityList.map((a) => [a.id, a.name]));
  const usableAuthorities = authorityList.filter((a) => !a.revokedAt && new Date(a.notAfter).getTime() > now).map((a) => ({ id: a.id, name: a.name, notAfter: a.notAfter }));
  const view = { id: device.id, clientId: device.clientId, description: device.description, tags: device.tags, enabled: device.enabled };
  const ctx = { tenant, deviceId: device.id, clientId: device.clientId, endpoint };

  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs small">
        <Link href={base}>Devices</Link> <span aria-hidden="true">/</span> <span aria-current="page">{device.clientId}</span>
      </nav>
      <PageHeader
        title={device.clientId}
        description={device.description ?? undefined}
        actions={
          <>
            <AutoRefresh />
            <StatusDot online={device.connected === true} />
            {device.enabled ? <Badge tone="ok">Enabled</Badge> : <Badge tone="bad">Disabled</Badge>}
          </>
        }
      />
      <div className="stack prov">
        <div className="grid-2 detail-grid">
          <section className="card" aria-labelledby="device-overview">
            <h2 id="device-overview">Overview</h2>
            <dl className="facts">
              <dt>Client ID</dt>
              <dd className="mono">{device.clientId}</dd>
              <dt>Connection</dt>
              <dd>{device.connected ? "Connected now" : "Not connected"}</dd>
              <dt>Tags</dt>
              <dd>
                {device.tags.length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  <span className="row tags">
                    {device.tags.map((t) => (
                      <Link key={t} className="badge info" href={`${base}?tag=${encodeURIComponent(t)}`}>
                        {t}
                      </Link>
                    ))}
                  </span>
                )}
              </dd>
              <dt>Created</dt>
              <dd>{fmtDate(device.createdAt)}</dd>
              <dt>Updated</dt>
              <dd>{fmtDate(device.updatedAt)}</dd>
              <dt>Device ID</dt>
              <dd className="mono small">{device.id}</dd>
            </dl>
            {operator ? <EditDeviceForm tenant={tenant} device={view} /> : null}
          </section>
          <div className="stack">
            <section className="card" aria-labelledby="device-access">
              <h2 id="device-access">Access</h2>
              {operator ? (
                <EnableDeviceForm tenant={tenant} device={view} />
              ) : (
                <p className="small muted">{device.enabled ? "The device may connect." : "The device is disabled: the broker refuses it."}</p>
              )}
            </section>
            <section className="card" aria-labelledby="device-groups">
              <h2 id="device-groups">Groups</h2>
              {groups.ok ? <GroupsPanel tenant={tenant} deviceId={device.id} member={member} others={others} canEdit={operator} /> : <ErrorPanel error={groups.error} />}
            </section>
          </div>
        </div>

        <section className="card" aria-labelledby="device-credentials">
          <h2 id="device-credentials">Credentials</h2>
          <p className="small muted">
            Username and password logins. The device connects with the username <code>username@{tenant}</code> and its client ID <code>{device.clientId}</code>.
          </p>
          {credentials.ok ? (
            <CredentialsPanel
              {...ctx}
              credentials={credentials.value.items.map((c): CredentialRow => ({ ...c, status: credentialStatus(c, now) }))}
              total={credentials.value.total}
              canEdit={operator}
            />
          ) : (
            <ErrorPanel error={credentials.error} />
          )}
        </section>

        <section className="card" aria-labelledby="device-certificates">
          <h2 id="device-certificates">Certificates</h2>
          <p className="small muted">X.509 client certificates for mutual TLS, issued by one of the tenant&apos;s certificate authorities.</p>
          {certificates.ok ? (
            <CertificatesPanel
              {...ctx}
              certificates={certificates.value.items.map((c): CertificateRow => ({ ...c, status: certificateStatus(c, now), authorityName: authorityName.get(c.authorityId) ?? "CA" }))}
              total={certificates.value.total}
              authorities={usableAuthorities}
              canEdit={operator}
            />
          ) : (
            <ErrorPanel error={certificates.error} />
          )}
        </section>

        {operator ? (
          <section className="card danger-zone" aria-labelledby="device-delete">
            <h2 id="device-delete">Delete device</h2>
            <DeleteDeviceForm tenant={tenant} device={view} />
          </section>
        ) : null}
      </div>
    </>
  );
}

