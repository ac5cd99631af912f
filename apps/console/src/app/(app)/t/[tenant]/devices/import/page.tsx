/** Bulk provisioning from a CSV file (operators). */
import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/components/ui.tsx";
import { allowed } from "@/lib/tenant.ts";
import { ImportForm } from "./import-form.tsx";

/** schemas.DEVICE_IMPORT_MAX_ROWS of the API contract (not imported: the contract's runtime pulls in the MQTT engine). */
const MAX_ROWS = 10_000;

export const metadata: Metadata = { title: "Import devices" };

export default async function ImportDevicesPage({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const base = `/t/${tenant}/devices`;
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs small">
        <Link href={base}>Devices</Link> <span aria-hidden="true">/</span> <span aria-current="page">Import</span>
      </nav>
      <PageHeader title="Import devices" description="Create many devices at once from a CSV file, optionally with a generated password for each." />
      {(await allowed(tenant, "tenant_operator")) ? (
        <ImportForm tenant={tenant} maxRows={MAX_ROWS} />
      ) : (
        <div className="alert info" role="status">
          Importing devices needs the operator role in this tenant. <Link href={base}>Back to the devices</Link>
        </div>
      )}
    </>
  );
}
