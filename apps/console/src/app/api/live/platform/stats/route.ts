import { relayEventStream } from "../../proxy.ts";

/** EventSource endpoint of the platform overview (platform administrators; the broker refuses others with 403). */
export async function GET(req: Request): Promise<Response> {
  return relayEventStream(req, "/api/v1/platform/stats/stream");
}
