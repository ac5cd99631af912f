import { randomUUID } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { Inject, Injectable, type OnApplicationShutdown } from "@nestjs/common";
import { createPrismaClient, migrate, startEmbeddedPostgres, type EmbeddedPostgres, type PrismaClient } from "@halyard/db";
import type { Logger } from "pino";
import { CONFIG, type HalyardConfig } from "../../config/config.ts";
import { LOGGER } from "../../logger/logger.ts";

/** A Prisma client or an interactive transaction: what repositories take. */
export type Db = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

/**
 * A control-plane change the broker must act on live (disconnect a revoked
 * device, recompile permissions). `id` is the changed row's id.
 */
export interface ChangeEvent {
  kind: "tenant" | "device" | "credential" | "certificate" | "acl" | "bridge";
  tenantId: string;
  id?: string;
}

export interface Changes {
  emit(event: ChangeEvent): void;
}

const CHANNEL = "halyard_changes";
/** application_name of the LISTEN connection (visible in pg_stat_activity). */
export const CHANGE_FEED_APPLICATION = "halyard-change-feed";
const FEED_BACKOFF_MIN_MS = 500;
const FEED_BACKOFF_MAX_MS = 30_000;

/**
 * The control-plane database: DATABASE_URL when set, otherwise an embedded
 * Postgres (PGlite) in the data directory. Migrations (Prisma's own format)
 * are applied before anything else runs. `ready` is false while migrating and
 * after a failed query that looks like a lost connection, until one succeeds.
 */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private client: PrismaClient | undefined;
  private embedded: EmbeddedPostgres | undefined;
  private url: string | undefined;
  private listener: pg.Client | undefined;
  private feedTimer: NodeJS.Timeout | undefined;
  private feedBackoffMs = FEED_BACKOFF_MIN_MS;
  private feedWasLost = false;
  private stopping = false;
  private readonly origin = randomUUID();
  private readonly changeListeners: ((event: ChangeEvent) => void)[] = [];
  migrating = false;

  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    let url = this.config.databaseUrl;
    if (!url) {
      this.embedded = await startEmbeddedPostgres({ dataDir: path.join(this.config.dataDir, "postgres") });
      url = this.embedded.connectionString;
      this.logger.info({ dataDir: path.join(this.config.dataDir, "postgres") }, "embedded postgres started");
    }
    this.migrating = true;
    try {
      const applied = await migrate(url);
      this.logger.info({ applied }, "database migrations applied");
    } finally {
      this.migrating = false;
    }
    if (this.embedded) {
      // PGlite is one Postgres session behind its socket: two connections would interleave
      // their transactions (one request's statements inside another's). One connection
      // serialises them, which costs nothing since PGlite runs one query at a time anyway.
      // One process owns it, so changes need no LISTEN: they are delivered in-process.
      this.client = createPrismaClient(url, { maxConnections: 1 });
      this.url = url;
      return;
    }
    this.client = createPrismaClient(url);
    this.url = url;
    await this.listen();
  }

  /**
   * Other broker processes learn of changes through LISTEN/NOTIFY; this
   * process delivers its own changes directly after commit (see transaction).
   * The LISTEN connection heals itself: when it drops (database restart,
   * failover, a terminated backend) it reconnects with backoff, and because
   * notifications sent meanwhile are lost, every tenant is then re-checked as
   * if it had changed (cached permissions dropped, connected devices re-verified).
   */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: CHANGE_FEED_APPLICATION });
    client.on("error", (err) => this.logger.warn({ err }, "change feed connection lost"));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.logger.warn({ err, retryInMs: this.feedBackoffMs }, "change feed: LISTEN unavailable; retrying");
      await client.end().catch(() => undefined);
      this.scheduleListen();
      return;
    }
    client.on("notification", (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      try {
        const msg = JSON.parse(n.payload) as { origin: string; events: ChangeEvent[] };
        if (msg.origin !== this.origin) for (const e of msg.events) this.deliver(e);
      } catch (err) {
        this.logger.warn({ err }, "change feed: unreadable notification");
      }
    });
    client.once("end", () => {
      if (this.listener === client) this.listener = undefined;
      if (!this.stopping) this.scheduleListen();
    });
    this.listener = client;
    this.feedBackoffMs = FEED_BACKOFF_MIN_MS;
    if (this.feedWasLost) {
      this.feedWasLost = false;
      this.logger.info("change feed reconnected; re-checking every tenant for changes missed meanwhile");
      await this.resyncAll();
    }
  }

  private scheduleListen(): void {
    if (this.stopping || this.feedTimer) return;
    this.feedWasLost = true;
    const delay = this.feedBackoffMs;
    this.feedBackoffMs = Math.min(FEED_BACKOFF_MAX_MS, this.feedBackoffMs * 2);
    this.feedTimer = setTimeout(() => {
      this.feedTimer = undefined;
      void this.listen();
    }, delay);
    this.feedTimer.unref();
  }

  /** Every tenant as changed: what a lost notification could have said about it. */
  private async resyncAll(): Promise<void> {
    try {
      const tenants = await this.db.tenant.findMany({ select: { id: true } });
      for (const t of tenants) {
        // Tenant record, every credential (no id) and every permission of the tenant.
        for (const kind of ["tenant", "credential", "acl"] as const) this.deliver({ kind, tenantId: t.id });
      }
    } catch (err) {
      this.logger.warn({ err }, "change feed: re-check after reconnect failed");
    }
  }

  onChange(listener: (event: ChangeEvent) => void): void {
    this.changeListeners.push(listener);
  }

  private deliver(event: ChangeEvent): void {
    for (const l of this.changeListeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.error({ err, event }, "change listener failed");
      }
    }
  }

  /** The Postgres server's URL when other processes may share it (DATABASE_URL); undefined for the embedded database. */
  get sharedUrl(): string | undefined {
    return this.embedded ? undefined : this.url;
  }

  get db(): PrismaClient {
    if (!this.client) throw new Error("database not started");
    return this.client;
  }

  /**
   * Runs `fn` in one transaction: a change and its audit record commit
   * together or not at all. Change events emitted inside are published with
   * NOTIFY in the same transaction and delivered in this process after commit.
   */
  async transaction<T>(fn: (tx: Db, changes: Changes) => Promise<T>): Promise<T> {
    const events: ChangeEvent[] = [];
    const result = await this.db.$transaction(async (tx) => {
      const r = await fn(tx as unknown as Db, { emit: (e) => events.push(e) });
      if (events.length > 0) {
        const payload = JSON.stringify({ origin: this.origin, events });
        await tx.$executeRaw`SELECT pg_notify(${CHANNEL}, ${payload})`;
      }
      return r;
    });
    for (const e of events) this.deliver(e);
    return result;
  }

  /** Readiness probe: a trivial query. */
  async ping(): Promise<boolean> {
    if (!this.client || this.migrating) return false;
    try {
      await this.client.$queryRawUnsafe("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.feedTimer);
    await this.listener?.end().catch(() => undefined);
    await this.client?.$disconnect();
    await this.embedded?.close();
  }
}
