/** Distinct topics counted per tenant per minute; more are summed in `topicsOverflow`, so a topic flood costs bounded memory. */
export const MAX_TOPICS_PER_MINUTE = 1000;

/** Messages and payload bytes published to one topic in the current minute. */
export interface TopicCount {
  messages: number;
  bytes: number;
}

/**
 * Per-tenant counters kept by the broker for the console and metrics.
 * Plain numbers incremented on the hot path; readers take snapshots.
 * Totals count since the process started; the monitoring module turns them
 * into rates and per-minute rows.
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
  /**
   * Published messages per topic this minute, keyed by the routed (mounted)
   * topic so counting slices no string. Reset each minute by `rollTopics`;
   * `previousTopics` keeps the minute before, for a sliding top-topics view.
   */
  topics = new Map<string, TopicCount>();
  previousTopics = new Map<string, TopicCount>();
  /** Messages this minute to topics beyond MAX_TOPICS_PER_MINUTE. */
  topicsOverflow = 0;

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  deny(reason: string): void {
    this.denials[reason] = (this.denials[reason] ?? 0) + 1;
  }

  /** Hot path: one map lookup; an allocation only for a topic not seen this minute. */
  countTopic(topic: string, bytes: number): void {
    const t = this.topics.get(topic);
    if (t !== undefined) {
      t.messages++;
      t.bytes += bytes;
    } else if (this.topics.size < MAX_TOPICS_PER_MINUTE) {
      this.topics.set(topic, { messages: 1, bytes });
    } else {
      this.topicsOverflow++;
    }
  }

  /** Starts a new topic minute. */
  rollTopics(): void {
    this.previousTopics = this.topics;
    this.topics = new Map();
    this.topicsOverflow = 0;
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

  /** Counters of a tenant if it has any, without creating them (readers must not grow the map). */
  peek(slug: string): TenantCounters | undefined {
    return this.byTenant.get(slug);
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
