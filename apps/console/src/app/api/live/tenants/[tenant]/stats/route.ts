import { tenantApi } from "@/lib/tenant.ts";
import { relayEventStream } from "../../../proxy.ts";

/** EventSource endpoint of the tenant dashboard: the broker's `stats` events, one per second, relayed with the user's token. */
export async function GET(req: Request, ctx: { params: Promise<{ tenant: string }> }): Promise<Response> {
  const { tenant } = await ctx.params;
  return relayEventStream(req, tenantApi(tenant, "/stats/stream"));
}
