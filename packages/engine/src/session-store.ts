import type { Message, QoS } from "./message.ts";

/**
 * Persistence port for session state [MQTT-4.1]: what a restart must keep of
 * sessions whose expiry interval is non-zero. The broker keeps live Session
 * objects in memory and mirrors every change here as it happens; `load`
 * returns the mirrored records at start.
 *
 * Writes are fire-and-forget. A durable implementation groups them into
 * batches and reports, through `onDurable`, when a batch is safely stored;
 * the broker holds back any packet that promises durability (PUBACK, PUBREC,
 * PUBREL, SUBACK, CONNACK, outgoing QoS 2 PUBLISH) until the batch holding
 * the state it depends on is durable.
 */
export interface SessionStore {
  /** True when writes survive a process crash (the broker then gates acks). */
  readonly durable: boolean;

  saveSession(key: string, record: SessionRecord): void;
  /** Removes the session and everything stored under it. */
  deleteSession(key: string): void;
  saveSubscription(key: string, id: string, record: SubscriptionRecord): void;
  deleteSubscription(key: string, id: string): void;
  /** Queued or in-flight delivery, ordered by `seq` within a session. */
  saveDelivery(key: string, seq: number, record: DeliveryRecord): void;
  deleteDelivery(key: string, seq: number): void;
  /** Incoming QoS 2 packet id awaiting PUBREL [MQTT-4.3.3-9]. */
  saveIncoming(key: string, packetId: number): void;
  deleteIncoming(key: string, packetId: number): void;
  /** The will of a connected client, or a will waiting for its delay. */
  saveWill(key: string, record: WillRecord): void;
  deleteWill(key: string): void;

  load(): Promise<StoredState>;

  /** Batch that holds writes made since the last seal, or 0 if none are pending. */
  pendingBatch(): number;
  /** Highest batch known durable. */
  durableBatch(): number;
  /** Called with a batch id once it (and all before it) are durable, or with an error. */
  onDurable(listener: (batch: number, error?: Error) => void): void;
  /** Whether the store is over its size limit (new persistent messages are refused). */
  isFull(): boolean;
  close(): Promise<void>;
}

export interface SessionRecord {
  expiryInterval: number;
  /** ms since epoch when the session expires; undefined while connected. */
  expiresAt: number | undefined;
}

export interface SubscriptionRecord {
  filter: string;
  group: string | undefined;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | undefined;
}

export interface DeliveryRecord {
  message: StoredMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  /** 0 while queued; the packet id once in flight. */
  packetId: number;
  /** QoS 2: PUBREC received, PUBREL sent. */
  released: boolean;
}

export interface WillRecord {
  message: StoredMessage;
  /** Seconds of will delay. */
  delay: number;
  /** ms since epoch when the will is due; undefined while its client is connected. */
  fireAt: number | undefined;
  client: { clientId: string; username: string | undefined; mountPoint: string; attributes: Record<string, unknown> };
}

/** A Message without the encoder's caches. */
export type StoredMessage = Pick<Message, "topic" | "payload" | "qos" | "retain" | "properties" | "expiresAt" | "senderId">;

export interface StoredState {
  sessions: Map<string, SessionRecord>;
  subscriptions: Map<string, Map<string, SubscriptionRecord>>;
  deliveries: Map<string, Map<number, DeliveryRecord>>;
  incoming: Map<string, Set<number>>;
  wills: Map<string, WillRecord>;
}

export function toStoredMessage(m: Message): StoredMessage {
  return {
    topic: m.topic,
    payload: m.payload,
    qos: m.qos,
    retain: m.retain,
    properties: m.properties,
    expiresAt: m.expiresAt,
    senderId: m.senderId,
  };
}

export function emptyState(): StoredState {
  return { sessions: new Map(), subscriptions: new Map(), deliveries: new Map(), incoming: new Map(), wills: new Map() };
}

function inner<K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let m = map.get(key);
  if (!m) {
    m = new Map();
    map.set(key, m);
  }
  return m;
}

/**
 * In-memory SessionStore: the same records in Maps. Nothing survives the
 * process, so `durable` is false and the broker acknowledges at once. A
 * broker restarted in-process with the same instance recovers from it, which
 * is how recovery logic is tested without a disk.
 */
export class MemorySessionStore implements SessionStore {
  readonly durable = false;
  private state = emptyState();

  saveSession(key: string, record: SessionRecord): void {
    this.state.sessions.set(key, { ...record });
  }
  deleteSession(key: string): void {
    const s = this.state;
    s.sessions.delete(key);
    s.subscriptions.delete(key);
    s.deliveries.delete(key);
    s.incoming.delete(key);
  }
  saveSubscription(key: string, id: string, record: SubscriptionRecord): void {
    inner(this.state.subscriptions, key).set(id, { ...record });
  }
  deleteSubscription(key: string, id: string): void {
    this.state.subscriptions.get(key)?.delete(id);
  }
  saveDelivery(key: string, seq: number, record: DeliveryRecord): void {
    inner(this.state.deliveries, key).set(seq, { ...record });
  }
  deleteDelivery(key: string, seq: number): void {
    this.state.deliveries.get(key)?.delete(seq);
  }
  saveIncoming(key: string, packetId: number): void {
    let set = this.state.incoming.get(key);
    if (!set) {
      set = new Set();
      this.state.incoming.set(key, set);
    }
    set.add(packetId);
  }
  deleteIncoming(key: string, packetId: number): void {
    this.state.incoming.get(key)?.delete(packetId);
  }
  saveWill(key: string, record: WillRecord): void {
    this.state.wills.set(key, { ...record });
  }
  deleteWill(key: string): void {
    this.state.wills.delete(key);
  }
  async load(): Promise<StoredState> {
    const s = this.state;
    return {
      sessions: new Map(s.sessions),
      subscriptions: new Map([...s.subscriptions].map(([k, v]) => [k, new Map(v)])),
      deliveries: new Map([...s.deliveries].map(([k, v]) => [k, new Map([...v].sort((a, b) => a[0] - b[0]))])),
      incoming: new Map([...s.incoming].map(([k, v]) => [k, new Set(v)])),
      wills: new Map(s.wills),
    };
  }
  pendingBatch(): number {
    return 0;
  }
  durableBatch(): number {
    return 0;
  }
  onDurable(): void {}
  isFull(): boolean {
    return false;
  }
  async close(): Promise<void> {}
}
