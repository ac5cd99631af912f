/** GET: a device certificate as a PEM file, fetched from the API with the signed-in user's token. */
import { tenantApi } from "@/lib/tenant.ts";
import { proxyPem } from "@/components/parts/pem-proxy.ts";

export async function GET(_req: Request, ctx: { params: Promise<{ tenant: string; id: string; certId: string }> }): Promise<Response> {
  const { tenant, id, certId } = await ctx.params;
  return proxyPem(tenantApi(tenant, `/devices/${encodeURIComponent(id)}/certificates/${encodeURIComponent(certId)}/certificate.pem`), `${certId}.pem`);
}
