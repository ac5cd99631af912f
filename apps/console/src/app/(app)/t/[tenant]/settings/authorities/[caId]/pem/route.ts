/** GET: a certificate authority's certificate as a PEM file (for devices and servers that verify device certificates). */
import { tenantApi } from "@/lib/tenant.ts";
import { proxyPem } from "@/components/parts/pem-proxy.ts";

export async function GET(_req: Request, ctx: { params: Promise<{ tenant: string; caId: string }> }): Promise<Response> {
  const { tenant, caId } = await ctx.params;
  return proxyPem(tenantApi(tenant, `/authorities/${encodeURIComponent(caId)}/certificate.pem`), `ca-${caId}.pem`);
}
