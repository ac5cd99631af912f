import type { Metadata } from "next";
import { ErrorPanel, PageHeader } from "@/components/ui.tsx";
import { api, ApiError, type Page } from "@/lib/api.ts";
import { tenantApi } from "@/lib/tenant.ts";
import type { Device } from "@/lib/types.ts";
import { AccessForm, type DeviceOption } from "./access-form.tsx";
import type { TenantPageProps } from "@/lib/page-props.ts";

export const metadata: Metadata = { title: "Access checker" };

const CHOICES = 50;

/**
 * "Would the broker let this device do this?" The device list is searched
 * server-side (`?dq=`), so the picker works for tenants of any size;
 * `?device=<id>` preselects a device (links from device pages).
 */
export default async function AccessPage({ params, searchParams }: TenantPageProps) {
  const { tenant } = await params;
  const q = await searchParams;
  let devices: Page<Device>;
  let options: DeviceOption[];
  try {
    devices = await api<Page<Device>>(tenantApi(tenant, "/devices"), { query: { q: q.dq, pageSize: CHOICES } });
    options = devices.items.map((d) => ({ id: d.id, clientId: d.clientId, description: d.description }));
    if (q.device && !options.some((o) => o.id === q.device)) {
      try {
        const d = await api<Device>(tenantApi(tenant, `/devices/${encodeURIComponent(q.device)}`));
        options.unshift({ id: d.id, clientId: d.clientId, description: d.description });
      } catch (err) {
        if (!(err instanceof ApiError && (err.status === 404 || err.status === 400))) throw err;
      }
    }
  } catch (err) {
    return (
      <>
        <PageHeader title="Access checker" />
        <ErrorPanel error={err} />
      </>
    );
  }
  const preselected = q.device && options.some((o) => o.id === q.device) ? q.device : undefined;
  return (
    <>
      <PageHeader
        title="Access checker"
        description="Ask the broker whether a device may publish, subscribe or receive on a topic, and which rule decides. Nothing is sent to the device."
      />
      <div className="stack">
        <form className="inline-form card" role="search" aria-label="Find a device">
          {preselected ? <input type="hidden" name="device" value={preselected} /> : null}
          <div className="field grow">
            <label htmlFor="access-device-search">Search devices</label>
            <input id="access-device-search" name="dq" defaultValue={q.dq ?? ""} placeholder="Client ID or description" />
          </div>
          <button type="submit">Search</button>
          <p className="muted small full-row">
            {devices.total > CHOICES
              ? `The list below shows the first ${CHOICES} of ${devices.total} devices${q.dq ? ` matching “${q.dq}”` : ""}: search to find another.`
              : q.dq
                ? `${devices.total} device${devices.total === 1 ? "" : "s"} match “${q.dq}”.`
                : `${devices.total} device${devices.total === 1 ? "" : "s"} in this tenant.`}
          </p>
        </form>
        <AccessForm key={`${q.dq ?? ""}|${preselected ?? ""}`} tenant={tenant} devices={options} initialDevice={preselected} />
      </div>
    </>
  );
}
