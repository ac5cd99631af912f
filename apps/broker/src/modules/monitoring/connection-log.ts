import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import { ReasonCode, type ClientInfo } from "@halyard/engine";
import type { Logger } from "pino";
import { LOGGER } from "../../logger/logger.ts";
import type { ConnectionEventInput } from "../../mqtt/tenancy/connection-events.ts";
import { DatabaseService } from "../database/database.service.ts";
import { BatchWriter } from "./batch-writer.ts";
import { MonitoringRepository, type EventRow } from "./monitoring.repository.ts";
import { mqttOf } from "./mqtt-ref.ts";

/**
 * The per-tenant connection log: TenantHooks reports connects, disconnects
 * and refused logins synchronously; they are buffered here and written once
 * a second in one INSERT, never awaited by the MQTT side. A write that fails
 * keeps its events for the next second; the buffer is bounded (a long outage
 * or a login storm drops the oldest, counted in the log). Retention: 7 days
 * and 100,000 events per tenant, pruned once a minute.
 */

const FLUSH_MS = 1000;
const PRUNE_MS = 60_000;
const MAX_BUFFER = 20_000;
const SHUTDOWN_FLUSH_MS = 3000;

/** "BadUserNameOrPassword" -> "bad user name or password"; the first name of a value wins. */
const REASON_NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(ReasonCode)) {
  if (!REASON_NAMES.has(code)) REASON_NAMES.set(code, name.replace("QoS", "Qos").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase());
}

/** A reason code as text: "keep alive timeout (0x8d)". */
export function reasonText(code: number): string {
  return `${REASON_NAMES.get(code) ?? "reason"} (0x${code.toString(16).padStart(2, "0")})`;
}

const cut = (s: string | undefined | null, max: number): string | null => (s === undefined || s === null ? null : s.length > max ? s.slice(0, max) : s);

@Injectable()
export class ConnectionLog implements OnModuleInit, OnModuleDestroy {
  /** Retention; fields so tests can shorten them. */
  retentionMs = 7 * 24 * 3600 * 1000;
  maxPerTenant = 100_000;
  private readonly written = new Set<string>();
  private readonly kicks = new WeakMap<ClientInfo, string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly batch: BatchWriter<EventRow>;

  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(MonitoringRepository) private readonly repo: MonitoringRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.batch = new BatchWriter<EventRow>(MAX_BUFFER, (rows) => this.database.transaction((tx) => this.repo.addEvents(tx, rows)), {
      failed: (err, { queued, first }) => {
        // Once per outage, not once per second.
        if (first) this.logger.warn({ err, buffered: queued }, "monitoring: writing connection events failed; retrying every second");
      },
      written: (rows, { recovered, dropped }) => {
        if (recovered || dropped > 0) this.logger.info({ written: rows.length, dropped }, "monitoring: connection events written again");
        for (const r of rows) this.written.add(r.slug);
      },
    });
  }

  onModuleInit(): void {
    mqttOf(this.moduleRef).tenancy.onConnectionEvent = (e) => this.record(e);
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_MS);
    this.flushTimer.unref();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_MS);
    this.pruneTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.pruneTimer);
    await this.batch.flushWithin(SHUTDOWN_FLUSH_MS);
  }

  /** The API is about to disconnect this client: its disconnect is logged as `kicked` with this reason. */
  markKicked(client: ClientInfo, reason: string): void {
    this.kicks.set(client, reason);
  }

  /** Called synchronously from the MQTT hooks: only builds a row and buffers it. */
  private record(e: ConnectionEventInput): void {
    let type: EventRow["type"] = e.type;
    let reason: string | null = null;
    if (e.type === "auth_failed") {
      reason = e.reasonString ?? reasonText(e.reasonCode);
    } else if (e.type === "disconnected") {
      const kicked = e.client ? this.kicks.get(e.client) : undefined;
      if (kicked !== undefined || e.reasonCode === ReasonCode.AdministrativeAction) {
        type = "kicked";
        reason = kicked ?? reasonText(e.reasonCode);
      } else {
        // The broker's own reason when it gave one (e.g. "credential expired"), else the code's meaning.
        reason = e.reasonString ?? (e.reasonCode === 0 ? "closed by the client or the network" : reasonText(e.reasonCode));
      }
    }
    this.batch.push({
      slug: e.slug,
      at: e.at,
      type,
      clientId: cut(e.clientId, 256) as string,
      username: cut(e.username, 256),
      address: cut(e.address, 64),
      reason: cut(reason, 256),
    });
  }

  /** Writes buffered events in one transaction; false if the database refused (they are kept). */
  flush(): Promise<boolean> {
    return this.batch.flush();
  }

  /** Deletes events past retention, and beyond the per-tenant cap for the given tenants (default: those written to since the last prune). */
  async prune(slugs = [...this.written]): Promise<void> {
    this.written.clear();
    try {
      await this.repo.deleteEventsBefore(this.database.db, new Date(Date.now() - this.retentionMs));
      for (const slug of slugs) await this.repo.capEvents(this.database.db, slug, this.maxPerTenant);
    } catch (err) {
      for (const slug of slugs) this.written.add(slug);
      this.logger.warn({ err }, "monitoring: pruning connection events failed");
    }
  }
}
