import { Inject, Injectable, type OnApplicationShutdown } from "@nestjs/common";
import type { Logger } from "pino";
import { LOGGER } from "../logger/logger.ts";
import { DatabaseService } from "../modules/database/database.service.ts";

/**
 * Whether this process should be sent traffic, as a small state machine:
 *
 *   starting -> migrating -> starting -> ready <-> database-unavailable
 *                                          any -> draining -> stopped
 *
 * - starting: modules are coming up (embedded database, state recovery,
 *   listeners); migrating: schema migrations are being applied.
 * - ready: listeners accept and the database answered a ping within
 *   PING_TIMEOUT_MS; database-unavailable: it did not (refused, reset, or
 *   silent), re-checked on every probe and every MONITOR_MS, so the state
 *   returns to ready by itself when the database does.
 * - draining: a graceful shutdown began; nothing returns from it.
 *
 * `/health/ready` answers 200 only when ready, 503 with the status
 * otherwise; `halyard_ready` is 1 when ready. Transitions are logged and kept
 * in `history` (the last HISTORY_MAX).
 */

export type ReadinessStatus = "starting" | "migrating" | "ready" | "database-unavailable" | "draining" | "stopped";

/** A ping slower than this counts as the database being unreachable, so probes answer within about a second. */
export const PING_TIMEOUT_MS = 800;
/** Background re-check, so transitions are logged and counted even without probes. */
const MONITOR_MS = 2000;
const HISTORY_MAX = 50;

export interface Transition {
  status: ReadinessStatus;
  at: string;
}

@Injectable()
export class Readiness implements OnApplicationShutdown {
  private status: ReadinessStatus = "starting";
  private since = new Date();
  readonly history: Transition[] = [];
  private started = false;
  private draining = false;
  private monitor: NodeJS.Timeout | undefined;
  private ping: { promise: Promise<boolean>; startedAt: number } | undefined;

  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.history.push({ status: this.status, at: this.since.toISOString() });
  }

  get current(): ReadinessStatus {
    return this.status;
  }

  get changedAt(): Date {
    return this.since;
  }

  /** Every module started and the listeners accept: from now on the database decides. */
  markStarted(): void {
    this.started = true;
    this.monitor = setInterval(() => void this.check(), MONITOR_MS);
    this.monitor.unref();
  }

  /** A graceful shutdown began. */
  markDraining(): void {
    this.draining = true;
    this.stopMonitor();
    this.set("draining");
  }

  markStopped(): void {
    this.draining = true;
    this.stopMonitor();
    this.set("stopped");
  }

  /** Re-evaluates the state now (pinging the database when started) and returns it. */
  async check(): Promise<ReadinessStatus> {
    if (this.draining) return this.status;
    if (!this.started) return this.set(this.database.migrating ? "migrating" : "starting");
    const reachable = await this.pingDatabase();
    if (this.draining) return this.status;
    return this.set(reachable ? "ready" : "database-unavailable");
  }

  /**
   * One ping at a time is shared by concurrent probes; a ping still pending
   * after the timeout is abandoned (its connection fails on its own) so a
   * silent database cannot hold readiness at its last answer.
   */
  private pingDatabase(): Promise<boolean> {
    const now = Date.now();
    let entry = this.ping;
    if (!entry || now - entry.startedAt > PING_TIMEOUT_MS) {
      const started = { promise: this.database.ping().catch(() => false), startedAt: now };
      this.ping = entry = started;
      void started.promise.finally(() => {
        if (this.ping === started) this.ping = undefined;
      });
    }
    const { promise, startedAt } = entry;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS - (now - startedAt));
      void promise.then((ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
    });
  }

  private set(status: ReadinessStatus): ReadinessStatus {
    if (status === this.status) return status;
    const from = this.status;
    this.status = status;
    this.since = new Date();
    this.history.push({ status, at: this.since.toISOString() });
    if (this.history.length > HISTORY_MAX) this.history.shift();
    const level = status === "database-unavailable" ? "warn" : "info";
    this.logger[level]({ from, to: status }, "readiness changed");
    return status;
  }

  private stopMonitor(): void {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = undefined;
  }

  onApplicationShutdown(): void {
    this.stopMonitor();
  }
}
