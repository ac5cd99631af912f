/**
 * When each connection's login stops being valid (a credential's expiresAt, a
 * token's exp, a certificate's notAfter), kept in one min-heap and watched by
 * one timer for the whole process.
 *
 * Why not a setTimeout per connection: 10k+ idle connections would each hold
 * a timer for days, and setTimeout cannot wait longer than 2^31-1 ms (~24.8
 * days; Node fires a longer one after 1 ms). Here the single timer waits for
 * the earliest deadline but never more than `maxSleepMs` (1 s), so deadlines
 * any distance away work, a wall-clock step is noticed within a second, and a
 * wake-up with nothing due costs one look at the top of the heap.
 *
 * set/delete are O(log n) / O(1): a replaced or deleted entry stays in the
 * heap marked dead and is skipped when it surfaces; the heap is rebuilt when
 * dead entries outnumber live ones, so churn cannot grow it without bound.
 */

export interface ScheduleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: ScheduleClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Expiry of live connections must not keep a process alive that is otherwise done.
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Entry<K> {
  key: K;
  at: number;
  dead: boolean;
}

export interface ExpiryScheduleOptions {
  clock?: ScheduleClock;
  /** Longest single wait of the timer (default 1000 ms; must stay below 2^31-1). */
  maxSleepMs?: number;
}

export class ExpirySchedule<K> {
  private readonly live = new Map<K, Entry<K>>();
  private heap: Entry<K>[] = [];
  private readonly clock: ScheduleClock;
  private readonly maxSleepMs: number;
  private timer: unknown;
  /** When the armed timer fires (Infinity when none is armed). */
  private wakeAt = Infinity;
  private closed = false;

  /** `onExpire` is called once per entry whose deadline is reached, after the entry is removed (it may set the key again). */
  constructor(
    private readonly onExpire: (key: K, at: number) => void,
    opts: ExpiryScheduleOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.maxSleepMs = Math.min(opts.maxSleepMs ?? 1000, 2 ** 31 - 1);
  }

  get size(): number {
    return this.live.size;
  }

  /** The deadline (ms since the epoch) scheduled for `key`. */
  get(key: K): number | undefined {
    return this.live.get(key)?.at;
  }

  /** Schedules `key` at `at`, replacing an earlier schedule of the same key (later or sooner). */
  set(key: K, at: number): void {
    if (this.closed) return;
    const old = this.live.get(key);
    if (old) {
      if (old.at === at) return;
      old.dead = true;
    }
    const entry: Entry<K> = { key, at, dead: false };
    this.live.set(key, entry);
    this.push(entry);
    this.compactIfNeeded();
    // Only a deadline earlier than the next wake-up needs the timer moved.
    if (at < this.wakeAt) this.arm();
  }

  delete(key: K): boolean {
    const entry = this.live.get(key);
    if (!entry) return false;
    entry.dead = true;
    this.live.delete(key);
    this.compactIfNeeded();
    if (this.live.size === 0) this.disarm();
    return true;
  }

  /** Expires every entry that is due now and re-arms the timer; the timer calls it, tests with a fake clock may too. */
  check(): void {
    const now = this.clock.now();
    const due: Entry<K>[] = [];
    for (let top = this.top(); top && top.at <= now; top = this.top()) {
      this.pop();
      this.live.delete(top.key);
      due.push(top);
    }
    for (const e of due) {
      try {
        this.onExpire(e.key, e.at);
      } catch {
        // One failing callback must not stop the others or the timer; the callback reports its own errors.
      }
    }
    this.arm();
  }

  close(): void {
    this.closed = true;
    this.disarm();
    this.live.clear();
    this.heap = [];
  }

  // ---- timer -------------------------------------------------------------------------------

  private arm(): void {
    this.disarm();
    const top = this.top();
    if (!top || this.closed) return;
    const now = this.clock.now();
    const delay = Math.max(0, Math.min(top.at - now, this.maxSleepMs));
    this.wakeAt = now + delay;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.wakeAt = Infinity;
      this.check();
    }, delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeAt = Infinity;
  }

  // ---- heap --------------------------------------------------------------------------------

  /** The earliest live entry, dropping dead ones from the top. */
  private top(): Entry<K> | undefined {
    while (this.heap.length > 0 && (this.heap[0] as Entry<K>).dead) this.pop();
    return this.heap[0];
  }

  private push(entry: Entry<K>): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Entry<K>).at <= entry.at) break;
      h[i] = h[parent] as Entry<K>;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    const n = h.length;
    const entry = h[start] as Entry<K>;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && (h[right] as Entry<K>).at < (h[left] as Entry<K>).at ? right : left;
      if ((h[child] as Entry<K>).at >= entry.at) break;
      h[i] = h[child] as Entry<K>;
      i = child;
    }
    h[i] = entry;
  }

  private compactIfNeeded(): void {
    if (this.heap.length <= 2 * this.live.size + 64) return;
    this.heap = [...this.live.values()];
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Entries held in the heap, dead ones included (for tests of compaction). */
  get heapSize(): number {
    return this.heap.length;
  }
}
