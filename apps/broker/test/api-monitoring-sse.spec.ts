import { monitoring } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MonitoringService } from "../src/modules/monitoring/monitoring.service.ts";
import { seedTwoTenants, startApi, type Api, type TwoTenants } from "./api-harness.ts";
import { addDevice, addRole, ALLOW_ALL, closeAll, connectDevice, publish, sleep, until, type DeviceLogin } from "./mqtt-tenant-kit.ts";

/**
 * The Server-Sent Events streams of the monitoring API, read with fetch and a
 * Bearer header exactly as the console's server-side proxy does: a `stats`
 * event every second that parses with the contract schema and follows real
 * MQTT traffic, heartbeat comments, cleanup when the client goes away, a
 * server-side end, and no stream holding up shutdown.
 */

interface Block {
  event?: string;
  data?: string;
  id?: string;
  retry?: string;
  comments: string[];
}

/** Reads text/event-stream blocks (separated by a blank line) from a fetch response. */
class SseReader {
  private buffer = "";
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The next block, or undefined when the server ended the stream. */
  async next(timeoutMs = 5000): Promise<Block | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const raw = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const block: Block = { comments: [] };
        for (const line of raw.split("\n")) {
          if (line.startsWith(":")) block.comments.push(line.slice(1).trim());
          else {
            const colon = line.indexOf(":");
            const field = line.slice(0, colon) as "event" | "data" | "id" | "retry";
            block[field] = line.slice(colon + 1).replace(/^ /, "");
          }
        }
        return block;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no SSE block in time");
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("no SSE data in time")), left))),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) return undefined;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next `stats` event's data, skipping the retry hint and heartbeats. */
  async nextEvent(): Promise<{ id: number; at: number; data: unknown }> {
    for (;;) {
      const block = await this.next();
      if (!block) throw new Error("stream ended");
      if (block.event === undefined) continue;
      expect(block.event).toBe("stats");
      return { id: Number(block.id), at: Date.now(), data: JSON.parse(block.data!) };
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

describe("admin API: monitoring event streams", () => {
  let api: Api;
  let t: TwoTenants;
  let pubDevice: DeviceLogin;
  const streams = () => api.broker.app.get(MonitoringService).streams;

  const open = async (path: string, token: string | undefined, signal?: AbortSignal) => {
    const res = await fetch(`${api.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, ...(signal ? { signal } : {}) });
    return res;
  };

  beforeAll(async () => {
    api = await startApi("embedded");
    t = await seedTwoTenants(api);
    pubDevice = await addDevice(api, "acme", "pub-1", [await addRole(api, "acme", "all", ALLOW_ALL)]);
  }, 60_000);
  afterAll(async () => api?.close());

  it("streams a stats event per second with a Bearer header; events parse and follow live traffic", async () => {
    const res = await open("/api/v1/tenants/acme/stats/stream", t.acmeViewer);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toContain("no-cache");
    const sse = new SseReader(res);
    const first = await sse.next();
    expect(first?.retry).toBe("2000");

    const e1 = await sse.nextEvent();
    const s1 = monitoring.tenantStats.parse(e1.data);
    const pub = await connectDevice(api.broker.ports.tcp!, "acme", pubDevice);
    for (let i = 0; i < 4; i++) await publish(pub, "live/x", "abc", { qos: 1 });
    const e2 = await sse.nextEvent();
    const e3 = await sse.nextEvent();
    expect(e2.id).toBe(e1.id + 1);
    expect(e3.id).toBe(e2.id + 1);
    // One per second, not a burst.
    expect(e3.at - e2.at).toBeGreaterThan(600);
    const s3 = monitoring.tenantStats.parse(e3.data);
    expect(s3.totals.messagesIn - s1.totals.messagesIn).toBe(4);
    expect(s3.connections).toBe(1);
    expect(s3.topTopics[0]).toEqual({ topic: "live/x", messages: 4, bytes: 12 });
    expect(Date.parse(s3.at)).toBeGreaterThan(Date.parse(s1.at));
    expect(streams().size).toBe(1);

    // The client goes away: the server ends the stream and forgets it.
    await sse.cancel();
    await until(() => streams().size === 0, 3000, "stream closed on the server");
    await closeAll(pub);
  });

  it("sends heartbeat comments, ends streams after their maximum duration, and stops when the request is aborted", async () => {
    const service = streams();
    service.heartbeatMs = 150;
    service.maxDurationMs = 1800;
    try {
      const res = await open("/api/v1/tenants/acme/stats/stream", t.acmeAdmin);
      const sse = new SseReader(res);
      const started = Date.now();
      let heartbeats = 0;
      let events = 0;
      for (;;) {
        const block = await sse.next();
        if (!block) break;
        if (block.comments.includes("heartbeat")) heartbeats++;
        if (block.event === "stats") events++;
      }
      // The server ended it cleanly (the reader saw the end), after its maximum duration.
      expect(Date.now() - started).toBeGreaterThan(1500);
      expect(heartbeats).toBeGreaterThanOrEqual(5);
      expect(events).toBeGreaterThanOrEqual(2);
      await until(() => service.size === 0, 3000, "ended stream forgotten");
    } finally {
      service.heartbeatMs = 15_000;
      service.maxDurationMs = 15 * 60_000;
    }

    const abort = new AbortController();
    const res = await open("/api/v1/tenants/acme/stats/stream", t.acmeViewer, abort.signal);
    await new SseReader(res).nextEvent();
    expect(service.size).toBe(1);
    abort.abort();
    await until(() => service.size === 0, 3000, "aborted stream closed on the server");
  });

  it("checks access before streaming: 401, 404 for another tenant, 403 on the platform stream for tenant users", async () => {
    const anonymous = await open("/api/v1/tenants/acme/stats/stream", undefined);
    expect(anonymous.status).toBe(401);
    const other = await open("/api/v1/tenants/acme/stats/stream", t.globexAdmin);
    expect(other.status).toBe(404);
    expect(other.headers.get("content-type")).toContain("application/problem+json");
    expect(((await other.json()) as { status: number }).status).toBe(404);
    expect((await open("/api/v1/tenants/nosuch/stats/stream", api.admin)).status).toBe(404);
    for (const token of [t.acmeAdmin, t.acmeViewer]) {
      const r = await open("/api/v1/platform/stats/stream", token);
      expect(r.status).toBe(403);
      await r.body?.cancel();
    }
    await other.body?.cancel().catch(() => undefined);
    expect(streams().size).toBe(0);
  });

  it("streams platform stats to platform administrators", async () => {
    const res = await open("/api/v1/platform/stats/stream", api.admin);
    expect(res.status).toBe(200);
    const sse = new SseReader(res);
    const a = monitoring.platformStats.parse((await sse.nextEvent()).data);
    const b = monitoring.platformStats.parse((await sse.nextEvent()).data);
    expect(a.tenants.map((x) => x.slug)).toEqual(["acme", "globex"]);
    expect(Date.parse(b.at)).toBeGreaterThan(Date.parse(a.at));
    expect(b.totals.messagesIn).toBeGreaterThanOrEqual(4);
    await sse.cancel();
    await until(() => streams().size === 0, 3000, "platform stream closed");
  });

  it("an open stream does not hold up shutdown", async () => {
    const other = await startApi("embedded");
    const res = await fetch(`${other.url}/api/v1/platform/stats/stream`, { headers: { authorization: `Bearer ${other.admin}` } });
    const sse = new SseReader(res);
    await sse.nextEvent();
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    // The stream was ended by the server, not left hanging.
    let block: Block | undefined;
    do block = await sse.next(3000).catch(() => undefined);
    while (block);
    await sleep(10);
  });
});
