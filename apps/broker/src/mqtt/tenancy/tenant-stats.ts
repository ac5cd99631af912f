/**
 * Per-tenant counters kept by the broker for the console and metrics.
 * Plain numbers incremented on the hot path; readers take snapshots.
 */
export class TenantCounters {
  connections = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  readonly drops: Record<string, number> = {};
  readonly denials: Record<string, number> = {};
  authFailures = 0;

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  deny(reason: string): void {
    this.denials[reason] = (this.denials[reason] ?? 0) + 1;
  }
}

export class TenantStats {
  private readonly byTenant = new Map<string, TenantCounters>();

  of(slug: string): TenantCounters {
    let c = this.byTenant.get(slug);
    if (!c) {
      c = new TenantCounters();
      this.byTenant.set(slug, c);
    }
    return c;
  }

  entries(): IterableIterator<[string, TenantCounters]> {
    return this.byTenant.entries();
  }
}

/**
 * Per-tenant token buckets for message and byte rates: refilled continuously
 * at `rate` per second, holding at most one second of burst.
 */
export class RateBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  take(amount: number, now: number): boolean {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}
