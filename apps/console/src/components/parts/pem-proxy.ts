import "server-only";
import { unstable_rethrow } from "next/navigation";
import { apiFetch } from "@/lib/api.ts";

/**
 * Streams a PEM download from the broker API to the browser with the user's
 * own token (the browser never talks to the API). The API's file name is
 * kept; failures come back as short plain text, since this is a link the
 * user clicked rather than a page.
 */
export async function proxyPem(apiPath: string, fallbackName: string): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await apiFetch(apiPath);
  } catch (err) {
    unstable_rethrow(err); // no session: the redirect to sign-in
    return text(503, (err as Error).message);
  }
  if (upstream.status === 401) return text(401, "Your session expired: sign in again.");
  if (!upstream.ok) {
    let detail = upstream.statusText;
    try {
      const p = (await upstream.json()) as { detail?: string; title?: string };
      detail = p.detail ?? p.title ?? detail;
    } catch {
      /* not a problem document */
    }
    return text(upstream.status, detail || "The download failed.");
  }
  return new Response(upstream.body, {
    status: 200,
    headers: {
      "content-type": "application/x-pem-file",
      "content-disposition": upstream.headers.get("content-disposition") ?? `attachment; filename="${fallbackName}"`,
      "cache-control": "private, no-store",
    },
  });
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
}
