import type { Broker, Message } from "@halyard/engine";
import type { TenantStats } from "./tenancy/tenant-stats.ts";

/**
 * `$SYS/` topics in Mosquitto's layout, published retained every interval
 * when a value changed. Each tenant gets its own view under its mount point
 * (so a device subscribing to `$SYS/broker/clients/connected` sees its
 * tenant's count and nothing of others'); broker-wide values go to the root
 * namespace, which no tenant can reach, and are mirrored to the namespaces
 * `globalMounts()` names: the anonymous namespace while anonymous clients
 * are loopback-only (`HALYARD_ANONYMOUS=local`), i.e. the administrator on
 * the broker's own machine, as `mosquitto_sub -t '$SYS/#'` would show.
 *
 * Topics (under `$SYS/broker/`): version, uptime, clients/{connected,
 * disconnected (offline persistent sessions), total, maximum (highest
 * connected count seen at an update)}, messages/{received,sent,inflight},
 * bytes/{received,sent}, publish/messages/dropped, store/messages/count,
 * subscriptions/count, retained messages/count, and load averages
 * load/{messages,bytes}/{received,sent}/{1,5,15}min (per minute), plus
 * load/connections/{1,5,15}min broker-wide.
 *
 * Load figures are exponentially weighted moving averages of per-minute
 * rates over 1, 5 and 15 minutes, like Mosquitto's and Unix load averages,
 * computed from the time actually elapsed between samples.
 */

const WINDOWS = [1, 5, 15] as const;

class Load {
  private readonly averages = new Map<number, number>();
  private last: { total: number; at: number } | undefined;

  /**
   * Adds the counter's current total; returns per-minute averages per window.
   * A counter seen for the first time started at zero within the last
   * interval (counters are created on first use, and every existing one is
   * sampled each interval), so its first sample already counts as traffic
   * rather than as a baseline that would hide it.
   */
  sample(total: number, now: number, intervalMs: number): Map<number, number> {
    this.last ??= { total: 0, at: now - Math.max(1, intervalMs) };
    const elapsedSec = Math.max(0.001, (now - this.last.at) / 1000);
    const rate = ((total - this.last.total) / elapsedSec) * 60;
    this.last = { total, at: now };
    for (const w of WINDOWS) {
      const prev = this.averages.get(w);
      if (prev === undefined) {
        this.averages.set(w, rate);
        continue;
      }
      const alpha = 1 - Math.exp(-elapsedSec / (w * 60));
      this.averages.set(w, prev + alpha * (rate - prev));
    }
    return this.averages;
  }
}

export interface SysFigures {
  connected: number;
  disconnected: number;
  maximum: number;
  messagesReceived: number;
  messagesSent: number;
  messagesInflight: number;
  bytesReceived: number;
  bytesSent: number;
  dropped: number;
  stored: number;
  subscriptions: number;
  retained: number;
  /** Connections accepted since start (broker-wide only: feeds load/connections). */
  connectionsTotal?: number;
}

/** Per-tenant figures the tenant counters do not keep: one pass over the sessions. */
interface SessionFigures {
  sessions: number;
  subscriptions: number;
  inflight: number;
  queued: number;
}

export class SysTopics {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly published = new Map<string, string>();
  private readonly loads = new Map<string, Load>();
  private readonly maxima = new Map<string, number>();
  private mirrored: string[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly tenants: TenantStats,
    private readonly version: string,
    private intervalSec: number,
    /** Namespaces that get the broker-wide view besides the root (see the header). */
    private readonly globalMounts: () => string[] = () => [],
  ) {}

  get interval(): number {
    return this.intervalSec;
  }

  start(): void {
    if (this.intervalSec <= 0) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalSec * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A new interval from a configuration reload; 0 stops updates (the last values stay retained). */
  setInterval(seconds: number): void {
    if (seconds === this.intervalSec) return;
    this.stop();
    this.intervalSec = seconds;
    this.start();
  }

  tick(): void {
    const now = Date.now();
    const s = this.broker.stats;
    const bySlug = this.sessionFigures();
    const all = bySlug.get("") as SessionFigures;
    let dropped = 0;
    for (const [reason, n] of Object.entries(s.drops)) if (reason !== "no-subscribers") dropped += n;
    const global = this.values("", now, {
      connected: s.connections,
      disconnected: all.sessions - s.connections,
      maximum: 0,
      messagesReceived: s.messagesReceived,
      messagesSent: s.messagesSent,
      messagesInflight: all.inflight,
      bytesReceived: s.bytesReceived,
      bytesSent: s.bytesSent,
      dropped,
      stored: all.inflight + all.queued,
      subscriptions: s.subscriptions,
      retained: this.broker.retained.size,
      connectionsTotal: s.connectionsTotal,
    });
    const mounts = ["", ...this.globalMounts()];
    for (const mount of this.mirrored) if (!mounts.includes(mount)) this.clear(mount);
    this.mirrored = mounts.slice(1);
    for (const mount of mounts) this.publishAll(mount, global);

    for (const [slug, c] of this.tenants.entries()) {
      const mount = slug + "/";
      const f = bySlug.get(slug) ?? { sessions: 0, subscriptions: 0, inflight: 0, queued: 0 };
      let tenantDropped = 0;
      for (const n of Object.values(c.drops)) tenantDropped += n;
      const retained = this.broker.retained.match(mount + "#").filter((m) => !m.topic.startsWith(mount + "$")).length;
      this.publishAll(
        mount,
        this.values(mount, now, {
          connected: c.connections,
          disconnected: Math.max(0, f.sessions - c.connections),
          maximum: 0,
          messagesReceived: c.messagesIn,
          messagesSent: c.messagesOut,
          messagesInflight: f.inflight,
          bytesReceived: c.bytesIn,
          bytesSent: c.bytesOut,
          dropped: tenantDropped,
          stored: f.inflight + f.queued,
          subscriptions: f.subscriptions,
          retained,
        }),
      );
    }
  }

  /** Sessions, subscriptions, in-flight and queued messages per tenant slug; "" = all sessions. */
  private sessionFigures(): Map<string, SessionFigures> {
    const out = new Map<string, SessionFigures>();
    const add = (key: string, session: { subscriptions: Map<string, unknown>; inflight: Map<number, unknown>; queue: { length: number } }) => {
      let f = out.get(key);
      if (!f) out.set(key, (f = { sessions: 0, subscriptions: 0, inflight: 0, queued: 0 }));
      f.sessions++;
      f.subscriptions += session.subscriptions.size;
      f.inflight += session.inflight.size;
      f.queued += session.queue.length;
    };
    out.set("", { sessions: 0, subscriptions: 0, inflight: 0, queued: 0 });
    for (const session of this.broker.sessions.values()) {
      add("", session);
      const end = session.key.indexOf("/\u0000");
      if (end > 0) add(session.key.slice(0, end), session);
    }
    return out;
  }

  /** The topic/value pairs of one view (`key` names its load averages and maximum). */
  private values(key: string, now: number, f: SysFigures): [string, string][] {
    const maximum = Math.max(this.maxima.get(key) ?? 0, f.connected);
    this.maxima.set(key, maximum);
    const values: [string, string | number][] = [
      ["broker/version", this.version],
      ["broker/uptime", `${Math.floor((now - this.startedAt) / 1000)} seconds`],
      ["broker/clients/connected", f.connected],
      ["broker/clients/disconnected", f.disconnected],
      ["broker/clients/total", f.connected + f.disconnected],
      ["broker/clients/maximum", maximum],
      ["broker/messages/received", f.messagesReceived],
      ["broker/messages/sent", f.messagesSent],
      ["broker/messages/inflight", f.messagesInflight],
      ["broker/bytes/received", f.bytesReceived],
      ["broker/bytes/sent", f.bytesSent],
      ["broker/publish/messages/dropped", f.dropped],
      ["broker/store/messages/count", f.stored],
      ["broker/subscriptions/count", f.subscriptions],
      ["broker/retained messages/count", f.retained],
    ];
    const loads: [string, number | undefined][] = [
      ["messages/received", f.messagesReceived],
      ["messages/sent", f.messagesSent],
      ["bytes/received", f.bytesReceived],
      ["bytes/sent", f.bytesSent],
      ["connections", f.connectionsTotal],
    ];
    for (const [name, total] of loads) {
      if (total === undefined) continue;
      const id = key + name;
      let load = this.loads.get(id);
      if (!load) this.loads.set(id, (load = new Load()));
      for (const [w, avg] of load.sample(total, now, this.intervalSec * 1000)) values.push([`broker/load/${name}/${w}min`, avg.toFixed(2)]);
    }
    return values.map(([name, value]) => [name, String(value)]);
  }

  private publishAll(mount: string, values: [string, string][]): void {
    for (const [name, value] of values) this.set(`${mount}$SYS/${name}`, value);
  }

  /** Removes a mirrored view (its namespace no longer gets the broker-wide figures). */
  private clear(mount: string): void {
    const prefix = `${mount}$SYS/`;
    for (const topic of [...this.published.keys()]) {
      if (!topic.startsWith(prefix)) continue;
      this.published.delete(topic);
      this.broker.publishInternal(message(topic, ""));
    }
  }

  private set(topic: string, value: string): void {
    if (this.published.get(topic) === value) return;
    this.published.set(topic, value);
    this.broker.publishInternal(message(topic, value));
  }
}

function message(topic: string, value: string): Message {
  return { topic, payload: Buffer.from(value), qos: 0, retain: true, properties: undefined, expiresAt: undefined, senderId: undefined };
}
