import type { Metadata } from "next";
import { TenantLive } from "@/components/charts/tenant-live.tsx";
import { ErrorPanel } from "@/components/ui.tsx";
import { api, ApiError } from "@/lib/api.ts";
import { loadTenant, tenantApi } from "@/lib/tenant.ts";
import type { StatsPoint, TenantStats } from "@/lib/types.ts";

export const metadata: Metadata = { title: "Dashboard" };

/** An API failure as a value; anything else (Next's redirect to sign-in) keeps propagating. */
async function attempt<T>(call: Promise<T>): Promise<{ value: T; error?: undefined } | { value: null; error: ApiError }> {
  try {
    return { value: await call };
  } catch (err) {
    if (err instanceof ApiError) return { value: null, error: err };
    throw err;
  }
}

/**
 * Live tenant dashboard. The first paint comes from the server (snapshot and
 * last hour), so the numbers are there before any script runs; TenantLive then
 * keeps them moving with the broker's event stream. A failed fetch leaves the
 * live part to recover on its own and says what went wrong.
 */
export default async function TenantDashboard({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const t = await loadTenant(tenant);
  const [stats, series] = await Promise.all([
    attempt(api<TenantStats>(tenantApi(tenant, "/stats"))),
    attempt(api<StatsPoint[]>(tenantApi(tenant, "/stats/series"), { query: { range: "1h" } })),
  ]);
  const failed = stats.error ?? series.error;
  return (
    <>
      {failed ? <ErrorPanel error={failed} /> : null}
      <TenantLive tenant={t.slug} name={t.name} initialStats={stats.value} initialSeries={series.value} />
    </>
  );
}
