import type { Response } from "express";
import type { Logger } from "pino";

/**
 * Server-Sent Events (text/event-stream) without a framework layer: one
 * named event per interval with a fresh JSON payload, a comment line as
 * heartbeat so proxies keep the connection open, and cleanup when the
 * client goes away (the response's `close`). A client that reads too slowly
 * skips ticks instead of queueing them. Streams end after `maxDurationMs`
 * (EventSource reconnects by itself, re-authenticating) and all of them end
 * when the application shuts down.
 */
export class SseStreams {
  intervalMs = 1000;
  heartbeatMs = 15_000;
  maxDurationMs = 15 * 60_000;
  private readonly open = new Set<() => void>();

  constructor(private readonly logger: Logger) {}

  get size(): number {
    return this.open.size;
  }

  serve(res: Response, event: string, produce: () => unknown): void {
    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-cache, no-transform");
    res.setHeader("Connection", "keep-alive");
    // nginx and similar buffer responses unless told not to.
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.write(`retry: 2000\n\n`);

    let id = 0;
    let busy = false;
    let closed = false;
    const send = async () => {
      if (busy || closed || res.writableNeedDrain) return;
      busy = true;
      try {
        const data = await produce();
        if (!closed) res.write(`id: ${++id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      } catch (err) {
        this.logger.warn({ err }, "monitoring: building a stream event failed");
      } finally {
        busy = false;
      }
    };
    const tick = setInterval(() => void send(), this.intervalMs);
    const beat = setInterval(() => {
      if (!closed && !res.writableNeedDrain) res.write(": heartbeat\n\n");
    }, this.heartbeatMs);
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(tick);
      clearInterval(beat);
      clearTimeout(limit);
      this.open.delete(end);
      if (!res.writableEnded) res.end();
    };
    const limit = setTimeout(end, this.maxDurationMs);
    res.on("close", end);
    this.open.add(end);
    void send();
  }

  closeAll(): void {
    for (const end of [...this.open]) end();
  }
}
