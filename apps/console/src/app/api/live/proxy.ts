import "server-only";
import { ApiError, apiFetch } from "@/lib/api.ts";

/**
 * Relays one of the broker's Server-Sent Event streams to the browser. The
 * browser's EventSource cannot send the user's bearer token (and must never
 * see it), so it connects here and the console opens the upstream stream
 * with the session's token.
 *
 * Bytes are passed through as they arrive, never buffered: the upstream
 * fetch is aborted as soon as the browser goes away (request signal or the
 * response stream being cancelled), so an abandoned tab does not keep a
 * broker stream open. `no-transform` also keeps compression off, which would
 * otherwise hold events back until a buffer fills.
 */
export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
} as const;

function problem(status: number, title: string, detail?: string): Response {
  return Response.json({ status, title, detail }, { status, headers: { "Content-Type": "application/problem+json", "Cache-Control": "no-store" } });
}

export async function relayEventStream(req: Request, path: string): Promise<Response> {
  const upstreamAbort = new AbortController();
  const abort = () => upstreamAbort.abort();
  if (req.signal.aborted) return new Response(null, { status: 499 });
  req.signal.addEventListener("abort", abort, { once: true });

  let upstream: Response;
  try {
    upstream = await apiFetch(path, { signal: upstreamAbort.signal });
  } catch (err) {
    req.signal.removeEventListener("abort", abort);
    if (err instanceof ApiError) return problem(err.status, err.problem.title, err.problem.detail);
    throw err;
  }
  if (!upstream.ok || !upstream.body) {
    req.signal.removeEventListener("abort", abort);
    // A refusal (401 expired session, 403, 404) reaches the browser with its status; EventSource stops on it.
    const body = await upstream.text().catch(() => "");
    upstreamAbort.abort();
    return new Response(body || null, {
      status: upstream.ok ? 502 : upstream.status,
      headers: { "Content-Type": upstream.headers.get("content-type") ?? "application/problem+json", "Cache-Control": "no-store" },
    });
  }

  const reader = upstream.body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          req.signal.removeEventListener("abort", abort);
          controller.close();
        } else controller.enqueue(value);
      } catch {
        // Upstream ended abruptly (broker restart) or we aborted it: end the stream; EventSource reconnects.
        req.signal.removeEventListener("abort", abort);
        try {
          controller.close();
        } catch {
          /* already closed */
        }
      }
    },
    cancel() {
      // The browser went away.
      abort();
      void reader.cancel().catch(() => undefined);
    },
  });
  return new Response(stream, { status: 200, headers: SSE_HEADERS });
}
