import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { Badge, ErrorPanel } from "@/components/ui.tsx";
import { ApiError } from "@/lib/api.ts";
import { loadTenant } from "@/lib/tenant.ts";

/** Every tenant page: the tenant must exist and be visible to the user (the API answers 404 otherwise). */
export default async function TenantLayout({ children, params }: { children: ReactNode; params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  try {
    const t = await loadTenant(tenant);
    return (
      <>
        {t.status === "suspended" ? (
          <div className="alert error" role="alert">
            <Badge tone="bad">Suspended</Badge> This tenant is suspended: its devices cannot connect.
          </div>
        ) : null}
        {children}
      </>
    );
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) notFound();
    return <ErrorPanel error={err} />;
  }
}
