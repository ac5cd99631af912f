import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
import path from "node:path";
import {
  MemoryRetainedStore,
  emptyState,
  toStoredMessage,
  type DeliveryRecord,
  type Message,
  type RetainedStore,
  type SessionRecord,
  type SessionStore,
  type StoredMessage,
  type StoredState,
  type SubscriptionRecord,
  type WillRecord,
} from "@halyard/engine";
import { open, type Database, type RootDatabase } from "lmdb";
import { Batches, type Durability } from "./batches.ts";

/**
 * The broker's embedded durable state: one LMDB environment in the data
 * directory holding sessions, subscriptions, deliveries, incoming QoS 2 ids,
 * wills and retained messages.
 *
 * Why LMDB (lmdb-js): a well-kept embedded store with a prebuilt binary,
 * crash-safe copy-on-write B-trees (no recovery step, no WAL to replay), and
 * batched asynchronous commits that make one fsync serve every write of an
 * event-loop turn; measured at ~100k durable puts in 0.25 s here.
 *
 * Keys of per-session records start with the session's numeric id in fixed
 * width hex ("0000002a/..."), so a session's records sit together and are
 * removed by one range scan, whatever characters its client id holds.
 */

export interface LmdbStoreOptions {
  /** Folder of the LMDB files (created if missing). */
  dir: string;
  durability: Durability;
  /** Upper bound on the database size; at 90% new persistent messages are refused. */
  maxBytes: number;
}

const FORMAT = 1;
const FULL_RATIO = 0.9;

export class StoreOpenError extends Error {}

export class LmdbStore {
  readonly sessions: LmdbSessionStore;
  readonly retained: LmdbRetainedStore;
  private readonly root: RootDatabase;
  private readonly batches: Batches;
  private readonly sizeTimer: NodeJS.Timeout;
  private closed = false;
  full = false;

  private constructor(root: RootDatabase, private readonly options: LmdbStoreOptions) {
    this.root = root;
    this.batches = new Batches(options.durability, () => root.flushed);
    const db = (name: string) => root.openDB({ name, encoding: "msgpack" }) as Database<any, string>;
    this.sessions = new LmdbSessionStore(db("sessions"), db("subscriptions"), db("deliveries"), db("incoming"), db("wills"), this);
    this.retained = new LmdbRetainedStore(db("retained"), this);
    this.sizeTimer = setInterval(() => this.checkSize(), 1000);
    this.sizeTimer.unref();
  }

  /**
   * Opens (or creates) the store. A directory that is not a readable Halyard
   * store stops the broker with an error naming the file, never an empty start.
   */
  static open(options: LmdbStoreOptions): LmdbStore {
    const dir = path.resolve(options.dir);
    const file = path.join(dir, "state.mdb");
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new StoreOpenError(`cannot use data directory ${dir}: ${(err as Error).message}. It must be a folder the broker can write to.`);
    }
    checkFiles(file);
    let root: RootDatabase;
    try {
      root = open({ path: file, maxDbs: 12, mapSize: options.maxBytes, noSubdir: true, compression: false });
    } catch (err) {
      throw corrupt(file, err);
    }
    try {
      const meta = root.openDB({ name: "meta", encoding: "msgpack" });
      const format = meta.get("format") as number | undefined;
      if (format === undefined) meta.putSync("format", FORMAT);
      else if (format !== FORMAT) throw new Error(`format ${format}, this version reads format ${FORMAT}`);
    } catch (err) {
      void root.close();
      throw corrupt(file, err);
    }
    // Only now: the store starts a size timer that must not outlive a failed open.
    return new LmdbStore(root, options);
  }

  track(write: Promise<unknown>): void {
    this.batches.track(write);
  }

  get durability(): Durability {
    return this.options.durability;
  }

  get batchTracker(): Batches {
    return this.batches;
  }

  /** Approximate bytes in use: pages written so far times page size. */
  usedBytes(): number {
    const stats = this.root.getStats() as { pageSize?: number; lastPageNumber?: number };
    return (stats.lastPageNumber ?? 0) * (stats.pageSize ?? 4096);
  }

  private checkSize(): void {
    if (this.closed) return;
    this.full = this.usedBytes() > this.options.maxBytes * FULL_RATIO;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sizeTimer);
    await this.batches.settle();
    await this.root.close();
  }

  /** Reads every record, turning decode failures into a clear error. */
  read<T>(db: Database<any, string>, what: string, fn: (key: string, value: T) => void): void {
    try {
      for (const { key, value } of db.getRange({})) fn(key as string, value as T);
    } catch (err) {
      throw corrupt(path.join(path.resolve(this.options.dir), "state.mdb"), err, what);
    }
  }
}

// LMDB's on-disk layout (64-bit little-endian builds, which is what lmdb-js ships).
const MDB_MAGIC = 0xbeefc0de;
/** Data format of the LMDB inside lmdb-js 3 (MDB_DATA_VERSION). */
const MDB_DATA_VERSION = 2;
const P_META = 0x08;
const PAGE_FLAGS_OFFSET = 18;
const META_OFFSET = 24;
const PAGE_SIZE_OFFSET = META_OFFSET + 24;

/**
 * Makes, before lmdb-js sees the files, the checks LMDB makes when it opens
 * them: lmdb-js 3.5 crashes the whole process (SIGSEGV, a double free in its
 * failed-open path) whenever LMDB refuses to open an environment, so a
 * damaged or unusable file must be turned into a StoreOpenError here. The
 * data file must be a regular file we can read and write, and either empty
 * (LMDB initializes it, as on first start) or start with an LMDB meta page of
 * the data version this lmdb-js writes, followed by the second meta page.
 * Deeper damage is found by the reads in `open` and `load`.
 */
function checkFiles(file: string): void {
  for (const f of [file, `${file}-lock`]) {
    let fd: number;
    try {
      // The same open LMDB does (read-write, created if missing, mode 0664).
      fd = openSync(f, constants.O_RDWR | constants.O_CREAT, 0o664);
    } catch (err) {
      throw new StoreOpenError(
        `cannot open broker state ${f}: ${(err as Error).message}. It must be a regular file the broker can read and write: ` +
          "fix its type or permissions, restore a backup, or move the data directory aside to start with no stored sessions or retained messages.",
      );
    }
    try {
      if (f === file) checkHeader(f, fd);
    } finally {
      closeSync(fd);
    }
  }
}

function checkHeader(file: string, fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const head = Buffer.alloc(PAGE_SIZE_OFFSET + 4);
  const n = readSync(fd, head, 0, head.length, 0);
  let problem: string | undefined;
  if (n < head.length || (head.readUInt16LE(PAGE_FLAGS_OFFSET) & P_META) === 0 || head.readUInt32LE(META_OFFSET) !== MDB_MAGIC) {
    problem = "not an LMDB file";
  } else if ((head.readUInt32LE(META_OFFSET + 4) & 0xffff) !== MDB_DATA_VERSION) {
    problem = `LMDB data version ${head.readUInt32LE(META_OFFSET + 4) & 0xffff}, this version reads ${MDB_DATA_VERSION}`;
  } else {
    const pageSize = head.readUInt32LE(PAGE_SIZE_OFFSET);
    if (pageSize < 256 || pageSize > 0x10000 || (pageSize & (pageSize - 1)) !== 0) problem = `invalid page size ${pageSize}`;
    else if (size < 2 * pageSize) problem = `truncated to ${size} bytes`;
  }
  if (problem) throw corrupt(file, new Error(problem));
}

function corrupt(file: string, err: unknown, what?: string): StoreOpenError {
  return new StoreOpenError(
    `cannot read broker state ${file}${what ? ` (${what})` : ""}: ${(err as Error).message}. ` +
      "The file is damaged or was written by an incompatible version. Stop here rather than start empty: " +
      "restore a backup, or move the data directory aside to start with no stored sessions or retained messages.",
  );
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
const sidPrefix = (sid: number) => hex(sid, 8) + "/";

export class LmdbSessionStore implements SessionStore {
  readonly durable: boolean;
  /** Session key -> numeric id used as the prefix of its records. */
  private readonly sids = new Map<string, number>();
  private nextSid = 1;

  constructor(
    private readonly sessions: Database<any, string>,
    private readonly subscriptions: Database<any, string>,
    private readonly deliveries: Database<any, string>,
    private readonly incoming: Database<any, string>,
    private readonly wills: Database<any, string>,
    private readonly store: LmdbStore,
  ) {
    // "none" sends acks without waiting for the commit: a crash can lose acknowledged state.
    this.durable = store.durability !== "none";
  }

  private sid(key: string): number {
    let sid = this.sids.get(key);
    if (sid === undefined) {
      sid = this.nextSid++;
      this.sids.set(key, sid);
    }
    return sid;
  }

  saveSession(key: string, record: SessionRecord): void {
    const sid = this.sid(key);
    this.store.track(this.sessions.put(key, { sid, ...record }));
  }

  deleteSession(key: string): void {
    const sid = this.sids.get(key);
    if (sid === undefined) return;
    this.sids.delete(key);
    this.store.track(this.sessions.remove(key));
    const start = sidPrefix(sid);
    const end = hex(sid, 8) + "0"; // '0' sorts right after '/'
    for (const db of [this.subscriptions, this.deliveries, this.incoming]) {
      for (const k of db.getKeys({ start, end })) this.store.track(db.remove(k));
    }
  }

  saveSubscription(key: string, id: string, record: SubscriptionRecord): void {
    this.store.track(this.subscriptions.put(sidPrefix(this.sid(key)) + id, record));
  }

  deleteSubscription(key: string, id: string): void {
    const sid = this.sids.get(key);
    if (sid !== undefined) this.store.track(this.subscriptions.remove(sidPrefix(sid) + id));
  }

  saveDelivery(key: string, seq: number, record: DeliveryRecord): void {
    this.store.track(this.deliveries.put(sidPrefix(this.sid(key)) + hex(seq, 13), record));
  }

  deleteDelivery(key: string, seq: number): void {
    const sid = this.sids.get(key);
    if (sid !== undefined) this.store.track(this.deliveries.remove(sidPrefix(sid) + hex(seq, 13)));
  }

  saveIncoming(key: string, packetId: number): void {
    this.store.track(this.incoming.put(sidPrefix(this.sid(key)) + hex(packetId, 4), true));
  }

  deleteIncoming(key: string, packetId: number): void {
    const sid = this.sids.get(key);
    if (sid !== undefined) this.store.track(this.incoming.remove(sidPrefix(sid) + hex(packetId, 4)));
  }

  saveWill(key: string, record: WillRecord): void {
    this.store.track(this.wills.put(key, record));
  }

  deleteWill(key: string): void {
    this.store.track(this.wills.remove(key));
  }

  async load(): Promise<StoredState> {
    const state = emptyState();
    const keyOfSid = new Map<number, string>();
    this.store.read<SessionRecord & { sid: number }>(this.sessions, "sessions", (key, value) => {
      const { sid, ...record } = value;
      this.sids.set(key, sid);
      keyOfSid.set(sid, key);
      if (sid >= this.nextSid) this.nextSid = sid + 1;
      state.sessions.set(key, { expiryInterval: record.expiryInterval, expiresAt: record.expiresAt ?? undefined });
    });
    // A record whose session is gone is dropped here: deleteSession removes
    // only what was committed when it ran, so a write still in flight then
    // outlives it, and a session created now could get the same number and
    // inherit it. These removes are queued before any new session's writes.
    const owner = (db: Database<any, string>, k: string) => {
      const key = keyOfSid.get(parseInt(k.slice(0, 8), 16));
      if (key === undefined) this.store.track(db.remove(k));
      return key;
    };
    const group = <V>(map: Map<string, Map<any, V>>, key: string) => {
      let m = map.get(key);
      if (!m) map.set(key, (m = new Map()));
      return m;
    };
    this.store.read<SubscriptionRecord>(this.subscriptions, "subscriptions", (k, v) => {
      const key = owner(this.subscriptions, k);
      if (key !== undefined) group(state.subscriptions, key).set(k.slice(9), normalizeSubscription(v));
    });
    this.store.read<DeliveryRecord>(this.deliveries, "deliveries", (k, v) => {
      const key = owner(this.deliveries, k);
      if (key !== undefined) group(state.deliveries, key).set(parseInt(k.slice(9), 16), normalizeDelivery(v));
    });
    this.store.read<boolean>(this.incoming, "incoming", (k) => {
      const key = owner(this.incoming, k);
      if (key === undefined) return;
      let set = state.incoming.get(key);
      if (!set) state.incoming.set(key, (set = new Set()));
      set.add(parseInt(k.slice(9), 16));
    });
    this.store.read<WillRecord>(this.wills, "wills", (k, v) => {
      state.wills.set(k, { ...v, fireAt: v.fireAt ?? undefined, message: normalizeMessage(v.message) });
    });
    return state;
  }

  pendingBatch(): number {
    return this.store.batchTracker.pending();
  }
  durableBatch(): number {
    return this.store.batchTracker.durableBatch();
  }
  onDurable(listener: (batch: number, error?: Error) => void): void {
    this.store.batchTracker.onDurable(listener);
  }
  isFull(): boolean {
    return this.store.full;
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

/** msgpack turns `undefined` into `null`; the engine's records use undefined. */
function normalizeMessage(m: StoredMessage): StoredMessage {
  return {
    topic: m.topic,
    payload: Buffer.from(m.payload),
    qos: m.qos,
    retain: m.retain,
    properties: m.properties ?? undefined,
    expiresAt: m.expiresAt ?? undefined,
    senderId: m.senderId ?? undefined,
  };
}

function normalizeSubscription(s: SubscriptionRecord): SubscriptionRecord {
  return { ...s, group: s.group ?? undefined, subscriptionId: s.subscriptionId ?? undefined };
}

function normalizeDelivery(d: DeliveryRecord): DeliveryRecord {
  return { ...d, message: normalizeMessage(d.message), subscriptionIds: d.subscriptionIds ?? undefined };
}

/** Retained messages: served from memory, mirrored to LMDB, loaded at start. */
export class LmdbRetainedStore implements RetainedStore {
  private readonly memory = new MemoryRetainedStore();

  constructor(
    private readonly db: Database<any, string>,
    private readonly store: LmdbStore,
  ) {}

  get size(): number {
    return this.memory.size;
  }

  set(topic: string, message: Message | null): void {
    this.memory.set(topic, message);
    this.store.track(message ? this.db.put(topic, toStoredMessage(message)) : this.db.remove(topic));
  }

  get(topic: string): Message | undefined {
    return this.memory.get(topic);
  }

  match(filter: string): Message[] {
    return this.memory.match(filter);
  }

  async load(): Promise<void> {
    this.store.read<StoredMessage>(this.db, "retained", (topic, value) => {
      this.memory.set(topic, normalizeMessage(value) as Message);
    });
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
