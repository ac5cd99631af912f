import { PageHeader } from "@/components/ui.tsx";
import { loadTenant } from "@/lib/tenant.ts";

export default async function TenantDashboard({ params }: { params: Promise<{ tenant: string }> }) {
  const { tenant } = await params;
  const t = await loadTenant(tenant);
  return <PageHeader title={t.name} description="Live dashboard" />;
}
