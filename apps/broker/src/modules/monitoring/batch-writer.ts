/**
 * The bounded write-behind queue shared by the connection log (flushed every
 * second) and the stats recorder (every minute): rows are queued without
 * waiting for anything, written in one batch at a time (a flush during a
 * flush joins it), a batch whose write fails goes back in front of what was
 * queued meanwhile, and beyond `max` rows the oldest are dropped and counted.
 * The owner decides what to log through `failed` and `written`.
 */
export interface BatchWriterEvents<T> {
  /** A write failed; its rows are queued again. `first`: the previous write succeeded; `dropped`: rows dropped requeueing it. */
  failed(err: unknown, info: { queued: number; first: boolean; dropped: number }): void;
  /** A write succeeded. `recovered`: the previous one had failed; `dropped`: rows dropped since the previous success. Awaited by flush. */
  written(rows: T[], info: { recovered: boolean; dropped: number }): void | Promise<void>;
}

export class BatchWriter<T> {
  private rows: T[] = [];
  private flushing: Promise<boolean> | undefined;
  private failing = false;
  private dropped = 0;

  constructor(
    private readonly max: number,
    private readonly write: (rows: T[]) => Promise<unknown>,
    private readonly events: BatchWriterEvents<T>,
  ) {}

  /** The rows waiting to be written, oldest first. */
  get queued(): readonly T[] {
    return this.rows;
  }

  /** Queues a row; returns how many old rows were dropped to make room (0 or 1). */
  push(row: T): number {
    this.rows.push(row);
    return this.trim();
  }

  /** Writes what is queued in one batch; false if the write failed (the rows stay queued). */
  flush(): Promise<boolean> {
    this.flushing ??= this.run().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** The final flush at shutdown, given at most `ms`. */
  async flushWithin(ms: number): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((r) => (timeout = setTimeout(r, ms)))]);
    clearTimeout(timeout);
  }

  private trim(): number {
    const excess = this.rows.length - this.max;
    if (excess <= 0) return 0;
    this.rows.splice(0, excess);
    this.dropped += excess;
    return excess;
  }

  private async run(): Promise<boolean> {
    const rows = this.rows;
    if (rows.length === 0) return true;
    this.rows = [];
    try {
      await this.write(rows);
    } catch (err) {
      // Back in front of anything queued meanwhile, in order.
      this.rows = rows.concat(this.rows);
      const dropped = this.trim();
      this.events.failed(err, { queued: this.rows.length, first: !this.failing, dropped });
      this.failing = true;
      return false;
    }
    const info = { recovered: this.failing, dropped: this.dropped };
    this.failing = false;
    this.dropped = 0;
    await this.events.written(rows, info);
    return true;
  }
}
