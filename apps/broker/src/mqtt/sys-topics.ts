import type { Broker, Message } from "@halyard/engine";
import type { TenantStats } from "./tenancy/tenant-stats.ts";

/**
 * `$SYS/` topics in Mosquitto's layout, published retained every interval
 * when a value changed. Each tenant gets its own view under its mount point
 * (so a device subscribing to `$SYS/broker/clients/connected` sees its
 * tenant's count and nothing of others'); broker-wide values go to the root
 * namespace, which no tenant can reach.
 *
 * Load figures are exponentially weighted moving averages of per-minute
 * rates over 1, 5 and 15 minutes, like Mosquitto's and Unix load averages.
 */

const WINDOWS = [1, 5, 15] as const;

class Load {
  private readonly averages = new Map<number, number>();
  private last: number | undefined;

  /** Adds the counter's current total; returns per-minute averages per window. */
  sample(total: number, intervalSec: number): Map<number, number> {
    const rate = this.last === undefined ? 0 : ((total - this.last) / intervalSec) * 60;
    this.last = total;
    for (const w of WINDOWS) {
      const alpha = 1 - Math.exp(-intervalSec / (w * 60));
      const prev = this.averages.get(w) ?? rate;
      this.averages.set(w, prev + alpha * (rate - prev));
    }
    return this.averages;
  }
}

export interface SysFigures {
  connected: number;
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
  subscriptions?: number;
  retained?: number;
}

export class SysTopics {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly published = new Map<string, string>();
  private readonly loads = new Map<string, Load>();

  constructor(
    private readonly broker: Broker,
    private readonly tenants: TenantStats,
    private readonly version: string,
    private readonly intervalSec: number,
  ) {}

  start(): void {
    if (this.intervalSec <= 0) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalSec * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  tick(): void {
    const s = this.broker.stats;
    this.publishView("", {
      connected: s.connections,
      messagesReceived: s.messagesReceived,
      messagesSent: s.messagesSent,
      bytesReceived: s.bytesReceived,
      bytesSent: s.bytesSent,
      subscriptions: s.subscriptions,
      retained: this.broker.retained.size,
    });
    for (const [slug, c] of this.tenants.entries()) {
      this.publishView(slug + "/", {
        connected: c.connections,
        messagesReceived: c.messagesIn,
        messagesSent: c.messagesOut,
        bytesReceived: c.bytesIn,
        bytesSent: c.bytesOut,
      });
    }
  }

  private publishView(mount: string, f: SysFigures): void {
    const values: [string, string | number][] = [
      ["broker/version", this.version],
      ["broker/uptime", `${Math.floor((Date.now() - this.startedAt) / 1000)} seconds`],
      ["broker/clients/connected", f.connected],
      ["broker/messages/received", f.messagesReceived],
      ["broker/messages/sent", f.messagesSent],
      ["broker/bytes/received", f.bytesReceived],
      ["broker/bytes/sent", f.bytesSent],
    ];
    if (f.subscriptions !== undefined) values.push(["broker/subscriptions/count", f.subscriptions]);
    if (f.retained !== undefined) values.push(["broker/retained messages/count", f.retained]);
    for (const [name, total] of [
      ["messages/received", f.messagesReceived],
      ["messages/sent", f.messagesSent],
    ] as const) {
      const key = mount + name;
      let load = this.loads.get(key);
      if (!load) this.loads.set(key, (load = new Load()));
      for (const [w, avg] of load.sample(total, this.intervalSec)) values.push([`broker/load/${name}/${w}min`, avg.toFixed(2)]);
    }
    for (const [name, value] of values) this.set(`${mount}$SYS/${name}`, String(value));
  }

  private set(topic: string, value: string): void {
    if (this.published.get(topic) === value) return;
    this.published.set(topic, value);
    const message: Message = { topic, payload: Buffer.from(value), qos: 0, retain: true, properties: undefined, expiresAt: undefined, senderId: undefined };
    this.broker.publishInternal(message);
  }
}
