import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import { ReasonCode, type Channel, type Message } from "@halyard/engine";
import type { monitoring } from "@halyard/api-contract";
import type { Response } from "express";
import type { Logger } from "pino";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { LOGGER } from "../../logger/logger.ts";
import type { MqttService } from "../../mqtt/mqtt.service.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { ConnectionLog } from "./connection-log.ts";
import { MonitoringRepository, type MinuteRow } from "./monitoring.repository.ts";
import { mqttOf } from "./mqtt-ref.ts";
import { SseStreams } from "./sse.ts";
import { floorMinute, MINUTE_MS, StatsRecorder } from "./stats-recorder.ts";

type TenantStats = z.infer<typeof monitoring.tenantStats>;
type PlatformStats = z.infer<typeof monitoring.platformStats>;
type ConnectedClient = z.infer<typeof monitoring.connectedClient>;
type RetainedMessage = z.infer<typeof monitoring.retainedMessage>;
type StatsPoint = z.infer<typeof monitoring.statsPoint>;

/** Event streams share snapshots this young (requests always get a fresh one). */
const STREAM_SNAPSHOT_MS = 500;
const TENANT_LIST_TTL_MS = 5000;
const PREVIEW_BYTES = 256;
const RANGE_MINUTES = { "1h": 60, "24h": 1440 } as const;

interface SessionFigures {
  subscriptions: number;
  queued: number;
  inflight: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Printable: no control characters other than tab, line feed and carriage return. */
function printable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return false;
  }
  return true;
}

/** First 256 bytes of a payload: text when it is printable UTF-8 (a character cut at the end is dropped), else base64. */
export function preview(payload: Buffer): { payloadPreview: string; payloadEncoding: "utf8" | "base64" } {
  const head = payload.subarray(0, PREVIEW_BYTES);
  // A multi-byte character cut by the 256-byte limit may leave up to 3 bytes of a sequence.
  for (let trim = 0; trim <= (payload.length > PREVIEW_BYTES ? 3 : 0); trim++) {
    try {
      const text = utf8.decode(head.subarray(0, head.length - trim));
      if (printable(text)) return { payloadPreview: text, payloadEncoding: "utf8" };
      break;
    } catch {
      // not UTF-8 (yet): try without the last byte
    }
  }
  return { payloadPreview: head.toString("base64"), payloadEncoding: "base64" };
}

/**
 * The monitoring API's reads and the two administrative actions (disconnect a
 * client, clear a retained message). Everything is scoped by mount point:
 * a tenant's clients, sessions and retained messages are those under
 * `<slug>/`, and topics are shown without that prefix.
 */
@Injectable()
export class MonitoringService implements OnModuleInit, OnModuleDestroy {
  private mqtt!: MqttService;
  readonly streams: SseStreams;
  private sessionFigures: { at: number; bySlug: Map<string, SessionFigures>; total: SessionFigures } | undefined;
  private readonly tenantSnapshots = new Map<string, { at: number; value: TenantStats }>();
  private platformCache: { at: number; value: Promise<PlatformStats> } | undefined;
  private tenantList: { at: number; slugs: Promise<string[]> } | undefined;

  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(MonitoringRepository) private readonly repo: MonitoringRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(StatsRecorder) private readonly recorder: StatsRecorder,
    @Inject(ConnectionLog) private readonly log: ConnectionLog,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.streams = new SseStreams(logger);
  }

  onModuleInit(): void {
    this.mqtt = mqttOf(this.moduleRef);
  }

  /** Open event streams would keep the HTTP server from closing. */
  onModuleDestroy(): void {
    this.streams.closeAll();
  }

  // ---- snapshots ---------------------------------------------------------------------

  /** Subscriptions, queued and in-flight messages per tenant: one pass over all sessions, shared for a moment. */
  private figures(now: number, maxAgeMs: number) {
    if (this.sessionFigures && now - this.sessionFigures.at < maxAgeMs) return this.sessionFigures;
    const bySlug = new Map<string, SessionFigures>();
    const total: SessionFigures = { subscriptions: 0, queued: 0, inflight: 0 };
    for (const [key, s] of this.mqtt.broker.sessions) {
      const sep = key.indexOf("/\u0000");
      total.subscriptions += s.subscriptions.size;
      total.queued += s.queue.length;
      total.inflight += s.inflight.size;
      if (sep <= 0) continue;
      const slug = key.slice(0, sep);
      let f = bySlug.get(slug);
      if (!f) bySlug.set(slug, (f = { subscriptions: 0, queued: 0, inflight: 0 }));
      f.subscriptions += s.subscriptions.size;
      f.queued += s.queue.length;
      f.inflight += s.inflight.size;
    }
    this.sessionFigures = { at: now, bySlug, total };
    return this.sessionFigures;
  }

  /** The tenant's retained messages as its devices would match them ($-topics only when asked for explicitly). */
  private retainedMessages(slug: string, filter: string): Message[] {
    const mount = slug + "/";
    return this.mqtt.broker.retainedFor(mount + filter, mount.length);
  }

  tenantSnapshot(slug: string, maxAgeMs = 0): TenantStats {
    const now = Date.now();
    const cached = this.tenantSnapshots.get(slug);
    if (cached && now - cached.at < maxAgeMs) return cached.value;
    const c = this.mqtt.tenancy.stats.peek(slug);
    const f = this.figures(now, maxAgeMs).bySlug.get(slug);
    const value: TenantStats = {
      at: new Date(now).toISOString(),
      connections: Math.max(0, c?.connections ?? 0),
      rates: this.recorder.rates(slug, now),
      totals: { messagesIn: c?.messagesIn ?? 0, messagesOut: c?.messagesOut ?? 0, bytesIn: c?.bytesIn ?? 0, bytesOut: c?.bytesOut ?? 0 },
      drops: { ...(c?.drops ?? {}) },
      denials: { ...(c?.denials ?? {}) },
      retained: this.retainedMessages(slug, "#").length,
      subscriptions: f?.subscriptions ?? 0,
      queued: f?.queued ?? 0,
      inflight: f?.inflight ?? 0,
      topTopics: this.recorder.topTopics(slug, 10, now),
    };
    // Kept for other streams of this tenant within the window; dropped when nobody streams.
    if (this.streams.size > 0) this.tenantSnapshots.set(slug, { at: now, value });
    else this.tenantSnapshots.clear();
    return value;
  }

  private tenantSlugs(now: number, maxAgeMs: number): Promise<string[]> {
    if (!this.tenantList || now - this.tenantList.at >= maxAgeMs) {
      const slugs = this.repo.tenantSlugs(this.database.db);
      // A failed lookup is not cached.
      slugs.catch(() => (this.tenantList = undefined));
      this.tenantList = { at: now, slugs };
    }
    return this.tenantList.slugs;
  }

  platformSnapshot(maxAgeMs = 0): Promise<PlatformStats> {
    const now = Date.now();
    if (this.platformCache && now - this.platformCache.at < maxAgeMs) return this.platformCache.value;
    const value = this.buildPlatformSnapshot(now, maxAgeMs);
    value.catch(() => (this.platformCache = undefined));
    this.platformCache = { at: now, value };
    return value;
  }

  private async buildPlatformSnapshot(now: number, maxAgeMs: number): Promise<PlatformStats> {
    const broker = this.mqtt.broker;
    const s = broker.stats;
    const f = this.figures(now, maxAgeMs);
    // Streams re-read the tenant list every few seconds, requests every time.
    const slugs = await this.tenantSlugs(now, maxAgeMs > 0 ? TENANT_LIST_TTL_MS : 0);
    return {
      at: new Date(now).toISOString(),
      connections: s.connections,
      rates: this.recorder.brokerRates(now),
      totals: { messagesIn: s.messagesReceived, messagesOut: s.messagesSent, bytesIn: s.bytesReceived, bytesOut: s.bytesSent },
      drops: { ...s.drops },
      retained: broker.retained.size,
      subscriptions: s.subscriptions,
      sessions: broker.sessions.size,
      queued: f.total.queued,
      inflight: f.total.inflight,
      tenants: slugs.map((slug) => {
        const rates = this.recorder.rates(slug, now);
        return { slug, connections: Math.max(0, this.mqtt.tenancy.stats.peek(slug)?.connections ?? 0), messagesInRate: rates.messagesIn, messagesOutRate: rates.messagesOut };
      }),
    };
  }

  // ---- tenant routes -------------------------------------------------------------------

  async stats(p: Principal, slug: string): Promise<TenantStats> {
    await this.access.require(p, slug, "tenant_viewer");
    return this.tenantSnapshot(slug);
  }

  async streamStats(p: Principal, slug: string, res: Response): Promise<void> {
    await this.access.require(p, slug, "tenant_viewer");
    this.streams.serve(res, "stats", () => this.tenantSnapshot(slug, STREAM_SNAPSHOT_MS));
  }

  async platformStats(p: Principal): Promise<PlatformStats> {
    this.access.requirePlatformAdmin(p);
    return this.platformSnapshot();
  }

  streamPlatformStats(p: Principal, res: Response): void {
    this.access.requirePlatformAdmin(p);
    this.streams.serve(res, "stats", () => this.platformSnapshot(STREAM_SNAPSHOT_MS));
  }

  /**
   * Minute points of the range, oldest first: rows from Postgres, minutes
   * closed but not yet written (database briefly down), and the minute in
   * progress from memory, so charts move live. Missing minutes are zeros.
   */
  async series(p: Principal, slug: string, range: keyof typeof RANGE_MINUTES): Promise<StatsPoint[]> {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const current = this.recorder.partialMinute(slug);
    const last = Math.max(floorMinute(Date.now()), current.minute);
    const first = last - (RANGE_MINUTES[range] - 1) * MINUTE_MS;
    const points = new Map<number, StatsPoint>();
    for (let m = first; m <= last; m += MINUTE_MS) {
      points.set(m, { at: new Date(m).toISOString(), connections: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, drops: 0, denials: 0 });
    }
    const add = (minute: number, r: Omit<MinuteRow, "slug" | "minute">) => {
      const point = points.get(minute);
      if (!point) return;
      point.connections += r.connections;
      point.messagesIn += r.messagesIn;
      point.messagesOut += r.messagesOut;
      point.bytesIn += r.bytesIn;
      point.bytesOut += r.bytesOut;
      point.drops += r.drops;
      point.denials += r.denials;
    };
    for (const row of await this.repo.minutes(this.database.db, tenant.id, new Date(first))) {
      add(row.minute.getTime(), {
        connections: row.connections,
        messagesIn: Number(row.messagesIn),
        messagesOut: Number(row.messagesOut),
        bytesIn: Number(row.bytesIn),
        bytesOut: Number(row.bytesOut),
        drops: Number(row.drops),
        denials: Number(row.denials),
      });
    }
    for (const row of this.recorder.pendingFor(slug)) add(row.minute, row);
    add(current.minute, current);
    return [...points.values()];
  }

  private channelsOf(slug: string): Channel[] {
    const prefix = `${slug}/\u0000`;
    const out: Channel[] = [];
    for (const [key, channel] of this.mqtt.broker.connected) if (key.startsWith(prefix) && channel.client) out.push(channel);
    return out;
  }

  private channel(slug: string, clientId: string): Channel | undefined {
    const channel = this.mqtt.broker.connected.get(`${slug}/\u0000${clientId}`);
    return channel?.client ? channel : undefined;
  }

  private toClient(channel: Channel): ConnectedClient {
    const client = channel.client!;
    const mountLength = client.mountPoint.length;
    const session = channel.session;
    const transport = channel.transport.transport;
    return {
      clientId: client.clientId,
      deviceId: typeof client.attributes.deviceId === "string" ? client.attributes.deviceId : null,
      username: client.username ?? null,
      protocolVersion: client.protocolVersion,
      address: client.remoteAddress ?? null,
      connectedAt: new Date(channel.connectedAt || channel.createdAt).toISOString(),
      cleanStart: channel.cleanStart,
      sessionExpiryInterval: session?.expiryInterval ?? 0,
      keepAlive: Math.round(channel.keepAliveMs / 1000),
      subscriptions: [...(session?.subscriptions.values() ?? [])].map((s) => {
        const filter = s.filter.slice(mountLength);
        return { filter: s.group === undefined ? filter : `$share/${s.group}/${filter}`, qos: s.qos };
      }),
      inflight: session?.inflight.size ?? 0,
      queued: session?.queue.length ?? 0,
      transport: transport === "tls" || transport === "ws" || transport === "wss" ? transport : "tcp",
    };
  }

  async clients(p: Principal, slug: string, q: z.infer<typeof monitoring.clientListQuery>) {
    await this.access.require(p, slug, "tenant_viewer");
    const needle = q.search?.toLowerCase();
    const matching = this.channelsOf(slug)
      .filter((ch) => !needle || ch.client!.clientId.toLowerCase().includes(needle) || (ch.client!.username ?? "").toLowerCase().includes(needle))
      .sort((a, b) => (a.client!.clientId < b.client!.clientId ? -1 : a.client!.clientId > b.client!.clientId ? 1 : 0));
    const start = (q.page - 1) * q.pageSize;
    return { items: matching.slice(start, start + q.pageSize).map((ch) => this.toClient(ch)), page: q.page, pageSize: q.pageSize, total: matching.length };
  }

  async client(p: Principal, slug: string, clientId: string): Promise<ConnectedClient> {
    await this.access.require(p, slug, "tenant_viewer");
    const channel = this.channel(slug, clientId);
    if (!channel) throw problems.notFound(`Connected client '${clientId}'`);
    return this.toClient(channel);
  }

  /** Disconnects the client (v5: DISCONNECT 0x98 Administrative action); audited first. */
  async disconnect(p: Principal, slug: string, clientId: string, requestId?: string): Promise<void> {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    const found = this.channel(slug, clientId);
    if (!found) throw problems.notFound(`Connected client '${clientId}'`);
    const before = this.toClient(found);
    await this.database.transaction((tx) =>
      this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "client.disconnect",
        resource: "mqtt-client",
        resourceId: clientId.slice(0, 100),
        before: { clientId, username: before.username, address: before.address, protocolVersion: before.protocolVersion, connectedAt: before.connectedAt },
      }),
    );
    // Looked up again: the client may have gone (or reconnected on another channel) while the audit was written.
    const channel = this.channel(slug, clientId);
    if (!channel) return;
    this.log.markKicked(channel.client!, "disconnected by an administrator");
    channel.disconnect(ReasonCode.AdministrativeAction, "disconnected by an administrator");
  }

  async retained(p: Principal, slug: string, q: z.infer<typeof monitoring.retainedQuery>): Promise<RetainedMessage[]> {
    await this.access.require(p, slug, "tenant_viewer");
    const strip = slug.length + 1;
    return this.retainedMessages(slug, q.filter)
      .map((m) => ({ m, topic: m.topic.slice(strip) }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0))
      .slice(0, q.limit)
      .map(({ m, topic }) => ({ topic, qos: m.qos, payloadSize: m.payload.length, ...preview(m.payload) }));
  }

  /** Clears one retained message of the tenant; 404 when the topic holds none. Audited first. */
  async clearRetained(p: Principal, slug: string, topic: string, requestId?: string): Promise<void> {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    const mounted = `${slug}/${topic}`;
    const message = this.mqtt.broker.retained.get(mounted);
    if (!message) throw problems.notFound(`Retained message on '${topic}'`);
    await this.database.transaction((tx) =>
      this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "retained.delete",
        resource: "retained-message",
        resourceId: topic.slice(0, 100),
        before: { topic, qos: message.qos, payloadSize: message.payload.length },
      }),
    );
    this.mqtt.broker.retained.set(mounted, null);
  }

  async events(p: Principal, slug: string, q: z.infer<typeof monitoring.connectionEventQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { items, total } = await this.repo.events(this.database.db, tenant.id, {
      clientId: q.clientId,
      type: q.type,
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    });
    return {
      items: items.map((e) => ({
        at: e.at.toISOString(),
        type: e.type as z.infer<typeof monitoring.connectionEventType>,
        clientId: e.clientId,
        username: e.username,
        address: e.address,
        reason: e.reason,
      })),
      page: q.page,
      pageSize: q.pageSize,
      total,
    };
  }
}
