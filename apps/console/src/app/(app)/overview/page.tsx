import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { PlatformLive } from "@/components/charts/platform-live.tsx";
import { ErrorPanel } from "@/components/ui.tsx";
import { api, ApiError, me, type Page } from "@/lib/api.ts";
import type { PlatformStats, Tenant } from "@/lib/types.ts";

export const metadata: Metadata = { title: "Platform overview" };

/**
 * Platform administrators' home: broker-wide traffic and every tenant with
 * its connections and rates, live. Tenant names come from the tenant list
 * (the stats name tenants by slug); new tenants show by slug until reload.
 */
export default async function OverviewPage() {
  const m = await me();
  if (!m.platformAdmin) notFound();
  let stats: PlatformStats | null = null;
  let error: ApiError | undefined;
  const names: Record<string, string> = {};
  try {
    const [s, tenants] = await Promise.all([
      api<PlatformStats>("/api/v1/platform/stats"),
      api<Page<Tenant>>("/api/v1/tenants", { query: { pageSize: 200 } }),
    ]);
    stats = s;
    for (const t of tenants.items) names[t.slug] = t.name;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    error = err;
  }
  return (
    <>
      {error ? <ErrorPanel error={error} /> : null}
      <PlatformLive initial={stats} names={names} />
    </>
  );
}
