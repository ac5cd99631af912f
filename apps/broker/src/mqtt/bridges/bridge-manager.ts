import type { Broker } from "@halyard/engine";
import type { Logger } from "pino";
import { Counter } from "prom-client";
import type { ChangeEvent, DatabaseService } from "../../modules/database/database.service.ts";
import { BridgeLink, DEFAULT_LINK_OPTIONS, type BridgeConfig, type BridgeCounters, type BridgeStatus, type LinkOptions, type OutEntry } from "./bridge-link.ts";
import { localLeases, postgresLeases, type BridgeLeases } from "./bridge-leases.ts";
import { BridgeRuntimeRepository } from "./bridge-runtime.repository.ts";

/** How often a standby process tries to take over bridges another process runs. */
const STANDBY_RETRY_MS = 5000;

/**
 * Runs the tenants' bridges (see bridge-link.ts): at start every enabled
 * bridge of an active tenant gets a link; a `bridge` or `tenant` change event
 * re-reads that tenant's bridges and starts, restarts (configuration changed)
 * or stops links to match. Work for one tenant is serialised, so a burst of
 * API changes applies in order.
 *
 * With several broker processes on one database, each bridge runs in exactly
 * one of them, the holder of its lease (bridge-leases.ts); the others keep it
 * on standby and take it over within STANDBY_RETRY_MS when the holder goes.
 */
export class BridgeManager {
  private readonly links = new Map<string, BridgeLink>();
  /** Per bridge id; kept while the bridge exists so restarts and disabling keep the counts. */
  private readonly counters = new Map<string, BridgeCounters & { tenantId: string; tenant: string; bridge: string; stoppedAt: Date }>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly repo = new BridgeRuntimeRepository();
  private stopped = false;
  private leases: BridgeLeases = localLeases();
  /** Bridges another process holds the lease of, retried every STANDBY_RETRY_MS. */
  private readonly standby = new Map<string, BridgeConfig>();
  private standbyTimer: NodeJS.Timeout | undefined;
  /** `halyard_bridge_messages_total`, read from the counters at scrape time (nothing on the message path). */
  readonly messagesTotal: Counter<"tenant" | "bridge" | "direction">;

  constructor(
    private readonly broker: Broker,
    private readonly database: DatabaseService,
    private readonly logger: Logger,
    private readonly linkOptions: LinkOptions = DEFAULT_LINK_OPTIONS,
  ) {
    const counters = this.counters;
    this.messagesTotal = new Counter({
      name: "halyard_bridge_messages_total",
      help: "Messages forwarded by bridges: direction out (to the remote), in (from the remote) or dropped.",
      labelNames: ["tenant", "bridge", "direction"],
      registers: [],
      collect() {
        this.reset();
        for (const c of counters.values()) {
          this.inc({ tenant: c.tenant, bridge: c.bridge, direction: "out" }, c.forwardedOut);
          this.inc({ tenant: c.tenant, bridge: c.bridge, direction: "in" }, c.forwardedIn);
          this.inc({ tenant: c.tenant, bridge: c.bridge, direction: "dropped" }, c.dropped);
        }
      },
    });
  }

  /** Starts the bridges of every tenant that has an enabled one. */
  async start(): Promise<void> {
    const shared = this.database.sharedUrl;
    if (shared) this.leases = postgresLeases(shared, this.logger, () => this.leasesLost());
    this.standbyTimer = setInterval(() => this.retryStandby(), STANDBY_RETRY_MS);
    this.standbyTimer.unref();
    const tenants = await this.repo.tenantsWithBridges(this.database.db);
    await Promise.all(tenants.map((t) => this.sync(t)));
    this.logger.info({ bridges: this.links.size }, "bridges started");
  }

  /** Applies a control-plane change (bridge created/updated/deleted, tenant suspended/deleted). */
  onChange(event: ChangeEvent): void {
    if (event.kind !== "bridge" && event.kind !== "tenant") return;
    this.sync(event.tenantId).catch((err: unknown) => this.logger.error({ err, tenantId: event.tenantId }, "applying a bridge change failed"));
  }

  /** Re-reads the tenant's bridges and makes the running links match (serialised per tenant). */
  sync(tenantId: string): Promise<void> {
    const next = (this.queues.get(tenantId) ?? Promise.resolve()).then(() => this.apply(tenantId));
    const tail = next.catch(() => undefined);
    this.queues.set(tenantId, tail);
    void tail.then(() => {
      if (this.queues.get(tenantId) === tail) this.queues.delete(tenantId);
    });
    return next;
  }

  private async apply(tenantId: string): Promise<void> {
    if (this.stopped) return;
    const rows = await this.repo.ofTenant(this.database.db, tenantId);
    if (this.stopped) return;
    const wanted = new Map<string, BridgeConfig>();
    const present = new Set<string>();
    for (const r of rows) {
      present.add(r.id);
      if (!r.enabled || r.tenant.status !== "active") continue;
      wanted.set(r.id, {
        id: r.id,
        tenantId,
        slug: r.tenant.slug,
        name: r.name,
        remoteUrl: r.remoteUrl,
        direction: r.direction as BridgeConfig["direction"],
        localFilter: r.localFilter,
        remotePrefix: r.remotePrefix ?? "",
      });
    }
    for (const r of rows) {
      const c = this.counters.get(r.id);
      if (c) c.bridge = r.name;
      else this.counters.set(r.id, { tenantId, tenant: r.tenant.slug, bridge: r.name, forwardedOut: 0, forwardedIn: 0, dropped: 0, stoppedAt: new Date() });
    }
    // Standby bridges still wanted stay in `wanted`: launchIfLeased below tries their lease again.
    for (const [id, config] of [...this.standby]) if (config.tenantId === tenantId && !wanted.has(id)) this.standby.delete(id);
    for (const [id, link] of [...this.links]) {
      if (link.config.tenantId !== tenantId) continue;
      const config = wanted.get(id);
      if (config && sameConfig(config, link.config)) {
        wanted.delete(id);
        continue;
      }
      this.links.delete(id);
      const c = this.counters.get(id);
      if (c) c.stoppedAt = new Date();
      // Replaced or stopped: the remote session goes too (it holds the old subscription).
      const left = await link.stop(true);
      if (config) this.launch(config, left);
      else await this.leases.release(id);
      if (!config && left.length > 0) this.logger.warn({ tenant: link.config.slug, bridge: link.config.name, dropped: left.length }, "bridge stopped with undelivered messages");
      if (config) wanted.delete(id);
      this.logger.info({ tenant: link.config.slug, bridge: link.config.name, running: this.links.has(id) }, "bridge reconfigured");
    }
    for (const config of wanted.values()) await this.launchIfLeased(config);
    // Deleted bridges of this tenant: their counters go too.
    for (const [id, c] of [...this.counters]) if (c.tenantId === tenantId && !present.has(id)) this.counters.delete(id);
  }

  /** Runs the bridge here if this process gets its lease, else keeps it on standby. */
  private async launchIfLeased(config: BridgeConfig): Promise<void> {
    if (await this.leases.acquire(config.id)) {
      this.standby.delete(config.id);
      this.launch(config, []);
    } else {
      if (!this.standby.has(config.id)) this.logger.info({ tenant: config.slug, bridge: config.name }, "bridge on standby: another broker process runs it");
      this.standby.set(config.id, config);
    }
  }

  private retryStandby(): void {
    for (const config of [...this.standby.values()]) {
      // Through the tenant's queue, so it cannot race a configuration change.
      this.sync(config.tenantId).catch((err: unknown) => this.logger.error({ err }, "bridge standby retry failed"));
    }
  }

  /** The lock connection dropped: another process may hold our bridges now, so none may run here. */
  private leasesLost(): void {
    for (const [id, link] of [...this.links]) {
      this.links.delete(id);
      this.standby.set(id, link.config);
      void link.stop(false);
    }
  }

  private launch(config: BridgeConfig, carried: OutEntry[]): void {
    if (this.stopped) return;
    const link = new BridgeLink(config, this.broker, this.counters.get(config.id) as BridgeCounters, this.logger, this.linkOptions);
    this.links.set(config.id, link);
    link.start(carried);
  }

  /** The bridge's runtime status; "disabled" when no link runs for it. */
  status(id: string): BridgeStatus {
    const link = this.links.get(id);
    if (link) return link.status();
    const c = this.counters.get(id);
    return {
      state: this.standby.has(id) ? "standby" : "disabled",
      forwardedOut: c?.forwardedOut ?? 0,
      forwardedIn: c?.forwardedIn ?? 0,
      dropped: c?.dropped ?? 0,
      buffered: 0,
      since: (c?.stoppedAt ?? new Date()).toISOString(),
    };
  }

  /** Broker shutdown: links close, remote sessions stay (the remote queues for us until we are back). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.standbyTimer);
    this.standby.clear();
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((l) => l.stop(false)));
    await this.leases.close();
  }
}

function sameConfig(a: BridgeConfig, b: BridgeConfig): boolean {
  return (
    a.slug === b.slug &&
    a.name === b.name &&
    a.remoteUrl === b.remoteUrl &&
    a.direction === b.direction &&
    a.localFilter === b.localFilter &&
    a.remotePrefix === b.remotePrefix
  );
}
