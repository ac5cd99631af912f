import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import type { Logger } from "pino";
import { LOGGER } from "../../logger/logger.ts";
import type { TenantCounters } from "../../mqtt/tenancy/tenant-stats.ts";
import type { MqttService } from "../../mqtt/mqtt.service.ts";
import { DatabaseService } from "../database/database.service.ts";
import { BatchWriter } from "./batch-writer.ts";
import { MonitoringRepository, type MinuteRow } from "./monitoring.repository.ts";
import { mqttOf } from "./mqtt-ref.ts";

/**
 * Turns the plain counters the MQTT side increments (TenantCounters,
 * BrokerStats) into what the console shows, without touching the hot path:
 *
 * - rates: a 1 s timer samples every tenant's totals into a short ring; a
 *   rate is the difference to the oldest sample (~5 s back) per second;
 * - minutes: at each minute boundary the timer closes the minute (deltas of
 *   the totals, connections at that moment) into rows and rolls the tenants'
 *   top-topic maps; the rows go to Postgres in one batched INSERT.
 *
 * Writes are never awaited by anything MQTT does. A failed write keeps its
 * rows in a bounded buffer and is retried at the next minute, so a database
 * that is briefly down loses nothing; only a very long outage drops the
 * oldest minutes (logged).
 */

export const MINUTE_MS = 60_000;
/** Rows kept while the database cannot be written: e.g. 100 tenants for ~8 hours. */
const MAX_PENDING_ROWS = 50_000;
/** Minute rows older than this are deleted (the longest chart range is 24 h). */
export const SERIES_RETENTION_MS = 25 * 60 * MINUTE_MS;
/** Samples kept per ring: one per second, so the oldest is ~5 s old. */
const RATE_SAMPLES = 6;
/** How long the final flush at shutdown may take. */
const SHUTDOWN_FLUSH_MS = 3000;

export interface Traffic {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

interface Sample extends Traffic {
  t: number;
}

interface MinuteBase extends Traffic {
  drops: number;
  denials: number;
}

export const floorMinute = (ms: number) => Math.floor(ms / MINUTE_MS) * MINUTE_MS;

const sum = (r: Record<string, number>) => {
  let n = 0;
  for (const k in r) n += r[k] as number;
  return n;
};

function trafficOf(c: TenantCounters): Traffic {
  return { messagesIn: c.messagesIn, messagesOut: c.messagesOut, bytesIn: c.bytesIn, bytesOut: c.bytesOut };
}

function rateFrom(ring: Sample[] | undefined, now: Traffic, at: number): Traffic {
  const oldest = ring?.[0];
  const seconds = oldest ? (at - oldest.t) / 1000 : 0;
  if (!oldest || seconds < 0.1) return { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  const r = (a: number, b: number) => Math.max(0, Math.round(((a - b) / seconds) * 100) / 100);
  return {
    messagesIn: r(now.messagesIn, oldest.messagesIn),
    messagesOut: r(now.messagesOut, oldest.messagesOut),
    bytesIn: r(now.bytesIn, oldest.bytesIn),
    bytesOut: r(now.bytesOut, oldest.bytesOut),
  };
}

function push(ring: Sample[], s: Sample): void {
  ring.push(s);
  if (ring.length > RATE_SAMPLES) ring.shift();
}

@Injectable()
export class StatsRecorder implements OnModuleInit, OnModuleDestroy {
  private mqtt!: MqttService;
  private timer: NodeJS.Timeout | undefined;
  private readonly rings = new Map<string, Sample[]>();
  private readonly brokerRing: Sample[] = [];
  /** Start of the minute being counted now. */
  private bucketStart = floorMinute(Date.now());
  /** Each tenant's totals when the current minute started. */
  private readonly bases = new Map<string, MinuteBase>();
  /** Closed minutes not yet written. */
  private readonly pending: BatchWriter<MinuteRow>;
  private droppedRows = 0;

  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(MonitoringRepository) private readonly repo: MonitoringRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.pending = new BatchWriter<MinuteRow>(MAX_PENDING_ROWS, (rows) => this.database.transaction((tx) => this.repo.addMinutes(tx, rows)), {
      failed: (err, { queued, dropped }) => {
        // Retried at the next minute.
        this.logger.warn({ err, pendingRows: queued }, "monitoring: writing minute rows failed; retrying next minute");
        this.logDropped(dropped);
      },
      written: async (rows, { recovered }) => {
        if (recovered) this.logger.info({ rows: rows.length }, "monitoring: minute rows written again");
        await this.repo
          .deleteMinutesBefore(this.database.db, new Date(Date.now() - SERIES_RETENTION_MS))
          .catch((err: unknown) => this.logger.warn({ err }, "monitoring: deleting old minute rows failed"));
      },
    });
  }

  onModuleInit(): void {
    this.mqtt = mqttOf(this.moduleRef);
    this.bucketStart = floorMinute(Date.now());
    this.timer = setInterval(() => this.tick(Date.now()), 1000);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // The minute in progress is written too; a restart within the same minute adds to it.
    this.closeMinute(Date.now());
    await this.pending.flushWithin(SHUTDOWN_FLUSH_MS);
  }

  private tick(now: number): void {
    for (const [slug, c] of this.mqtt.tenancy.stats.entries()) {
      let ring = this.rings.get(slug);
      if (!ring) this.rings.set(slug, (ring = []));
      push(ring, { t: now, ...trafficOf(c) });
    }
    push(this.brokerRing, { t: now, ...this.brokerTraffic() });
    if (floorMinute(now) > this.bucketStart) {
      this.closeMinute(now);
      void this.flush();
    }
  }

  private brokerTraffic(): Traffic {
    const s = this.mqtt.broker.stats;
    return { messagesIn: s.messagesReceived, messagesOut: s.messagesSent, bytesIn: s.bytesReceived, bytesOut: s.bytesSent };
  }

  /** Per-second rates of a tenant over the last ~5 s. */
  rates(slug: string, at = Date.now()): Traffic {
    const c = this.mqtt.tenancy.stats.peek(slug);
    if (!c) return { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
    return rateFrom(this.rings.get(slug), trafficOf(c), at);
  }

  brokerRates(at = Date.now()): Traffic {
    return rateFrom(this.brokerRing, this.brokerTraffic(), at);
  }

  /** The tenant's figures of the minute in progress (from memory). */
  partialMinute(slug: string): MinuteRow {
    const c = this.mqtt.tenancy.stats.peek(slug);
    return c ? this.rowOf(slug, c) : { slug, minute: this.bucketStart, connections: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, drops: 0, denials: 0 };
  }

  /** Closed minutes of the tenant not written yet (the database was unavailable). */
  pendingFor(slug: string): MinuteRow[] {
    return this.pending.queued.filter((r) => r.slug === slug);
  }

  private rowOf(slug: string, c: TenantCounters): MinuteRow {
    const base = this.bases.get(slug);
    const drops = sum(c.drops);
    const denials = sum(c.denials);
    return {
      slug,
      minute: this.bucketStart,
      connections: Math.max(0, c.connections),
      messagesIn: c.messagesIn - (base?.messagesIn ?? 0),
      messagesOut: c.messagesOut - (base?.messagesOut ?? 0),
      bytesIn: c.bytesIn - (base?.bytesIn ?? 0),
      bytesOut: c.bytesOut - (base?.bytesOut ?? 0),
      drops: drops - (base?.drops ?? 0),
      denials: denials - (base?.denials ?? 0),
    };
  }

  /**
   * Top topics of a tenant over the last minute: this minute's counts plus
   * the previous minute's weighted by how much of it still lies in the
   * window (the usual sliding-window estimate). Topics as devices see them.
   */
  topTopics(slug: string, n = 10, at = Date.now()): { topic: string; messages: number; bytes: number }[] {
    const c = this.mqtt.tenancy.stats.peek(slug);
    if (!c) return [];
    const weight = Math.min(1, Math.max(0, 1 - (at - this.bucketStart) / MINUTE_MS));
    const merged = new Map<string, { messages: number; bytes: number }>();
    if (weight > 0) for (const [topic, t] of c.previousTopics) merged.set(topic, { messages: t.messages * weight, bytes: t.bytes * weight });
    for (const [topic, t] of c.topics) {
      const m = merged.get(topic);
      if (m) {
        m.messages += t.messages;
        m.bytes += t.bytes;
      } else merged.set(topic, { messages: t.messages, bytes: t.bytes });
    }
    const strip = slug.length + 1;
    return [...merged]
      .map(([topic, t]) => ({ topic: topic.slice(strip), messages: Math.round(t.messages), bytes: Math.round(t.bytes) }))
      .filter((t) => t.messages > 0)
      .sort((a, b) => b.messages - a.messages || a.topic.localeCompare(b.topic))
      .slice(0, n);
  }

  /**
   * Closes the minute in progress: one row per tenant that had traffic or
   * connections, queued for writing. Called by the timer at each minute
   * boundary (and by tests). When called early the next minute starts after
   * this one, so no minute is written twice by this process.
   */
  closeMinute(now = Date.now()): void {
    let dropped = 0;
    for (const [slug, c] of this.mqtt.tenancy.stats.entries()) {
      const row = this.rowOf(slug, c);
      if (row.connections > 0 || row.messagesIn || row.messagesOut || row.bytesIn || row.bytesOut || row.drops || row.denials) dropped += this.pending.push(row);
      this.bases.set(slug, { ...trafficOf(c), drops: sum(c.drops), denials: sum(c.denials) });
      c.rollTopics();
    }
    this.logDropped(dropped);
    this.bucketStart = Math.max(floorMinute(now), this.bucketStart + MINUTE_MS);
  }

  /** Writes the closed minutes in one transaction and deletes rows past retention; false if the database refused. */
  flush(): Promise<boolean> {
    return this.pending.flush();
  }

  private logDropped(excess: number): void {
    if (excess === 0) return;
    this.droppedRows += excess;
    this.logger.warn({ dropped: excess, droppedTotal: this.droppedRows }, "monitoring: database unavailable too long, oldest minute rows dropped");
  }
}
