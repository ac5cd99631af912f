import { ApiError, apiFetch } from "@/lib/api.ts";
import { tenantApi } from "@/lib/tenant.ts";

/**
 * The dashboard's chart data, refreshed by the browser every minute and when
 * the range changes: `GET ?range=1h|24h` relays the broker's per-minute series.
 */
export async function GET(req: Request, ctx: { params: Promise<{ tenant: string }> }): Promise<Response> {
  const { tenant } = await ctx.params;
  const range = new URL(req.url).searchParams.get("range") ?? "1h";
  if (range !== "1h" && range !== "24h") {
    return Response.json({ status: 400, title: "Bad Request", detail: "range must be 1h or 24h" }, { status: 400 });
  }
  try {
    const upstream = await apiFetch(tenantApi(tenant, "/stats/series"), { query: { range }, signal: req.signal });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { "Content-Type": upstream.headers.get("content-type") ?? "application/json", "Cache-Control": "no-store" },
    });
  } catch (err) {
    if (err instanceof ApiError) return Response.json(err.problem, { status: err.status });
    throw err;
  }
}
