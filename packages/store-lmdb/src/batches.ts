/**
 * Groups store writes into batches and reports when each is durable.
 *
 * lmdb-js commits every write queued in one event turn in one transaction,
 * on a worker thread. We mirror that: the first write after a seal opens a
 * batch, a microtask seals it, and the batch is durable when its last write
 * has committed and (in "fsync" mode) the commit is flushed to disk. Batches
 * complete in order, so "batch N is durable" covers every batch before it.
 */
export type Durability = "fsync" | "commit" | "none";

export class Batches {
  private openBatch = 0;
  private lastWrite: Promise<unknown> | undefined;
  private sealed = 0;
  private durable = 0;
  private readonly listeners: ((batch: number, error?: Error) => void)[] = [];

  constructor(
    private readonly mode: Durability,
    private readonly flushed: () => PromiseLike<unknown>,
  ) {}

  /** Registers a write's commit promise with the current batch. */
  track(write: Promise<unknown>): void {
    if (this.mode === "none") {
      write.catch((err: unknown) => this.emit(0, err as Error));
      return;
    }
    if (this.openBatch === 0) {
      this.openBatch = ++this.sealed;
      queueMicrotask(() => this.seal());
    }
    this.lastWrite = write;
  }

  pending(): number {
    if (this.openBatch !== 0) return this.openBatch;
    return this.sealed > this.durable ? this.sealed : 0;
  }

  durableBatch(): number {
    return this.durable;
  }

  onDurable(listener: (batch: number, error?: Error) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves when everything written so far is durable. */
  async settle(): Promise<void> {
    if (this.lastWrite) await this.lastWrite.catch(() => undefined);
    await this.flushed();
  }

  private seal(): void {
    const batch = this.openBatch;
    const write = this.lastWrite as Promise<unknown>;
    this.openBatch = 0;
    this.lastWrite = undefined;
    write
      .then(() => (this.mode === "fsync" ? this.flushed() : undefined))
      .then(
        () => {
          if (batch > this.durable) this.durable = batch;
          this.emit(this.durable);
        },
        (err: unknown) => this.emit(batch, err instanceof Error ? err : new Error(String(err))),
      );
  }

  private emit(batch: number, error?: Error): void {
    for (const listener of this.listeners) listener(batch, error);
  }
}
