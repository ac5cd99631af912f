import type { Duplex } from "node:stream";
import { Channel } from "./channel.ts";
import { Connection } from "./connection.ts";
import { allowAllHooks, type BrokerHooks, type ClientInfo, type DropReason } from "./hooks.ts";
import { isExpired, type Message, type QoS } from "./message.ts";
import { defaultBrokerOptions, type BrokerOptions } from "./options.ts";
import { MemoryRetainedStore, type RetainedStore } from "./retained-store.ts";
import { ReasonCode } from "./reason-codes.ts";
import { Session, type Delivery, type Subscription } from "./session.ts";
import { MemorySessionStore, type SessionStore } from "./session-store.ts";
import { BrokerStats } from "./stats.ts";
import { TopicTrie } from "./topic-trie.ts";

/** Members of one `$share/<group>/<filter>` subscription [MQTT-4.8.2]. */
export interface SharedGroup {
  readonly shared: true;
  readonly group: string;
  readonly filter: string;
  readonly members: Subscription[];
  /** Round-robin cursor. */
  next: number;
}

type RouteEntry = Subscription | SharedGroup;

const SHARED_KEY_PREFIX = "\u0000share\u0000";
const NEVER_EXPIRES = 0xffffffff;

export interface PendingWill {
  message: Message;
  timer: NodeJS.Timeout;
  client: ClientInfo;
}

/**
 * The broker: a router from published messages to sessions, plus the session
 * lifecycle (takeover, expiry, wills). Transports hand it duplex streams
 * through `handle`; it never opens sockets itself.
 */
export class Broker {
  readonly options: BrokerOptions;
  readonly hooks: BrokerHooks;
  readonly sessions: SessionStore;
  readonly retained: RetainedStore;
  readonly stats = new BrokerStats();
  /** Channels by session key, for takeover [MQTT-3.1.4-3]. */
  readonly connected = new Map<string, Channel>();
  readonly channels = new Set<Channel>();
  private readonly routes = new TopicTrie<RouteEntry>();
  private readonly pendingWills = new Map<string, PendingWill>();
  private readonly dirty: Connection[] = [];
  private flushScheduled = false;
  private readonly ticker: NodeJS.Timeout;
  private closed = false;

  // Per-publish aggregation state, kept on the instance so `route` allocates
  // no closure per message.
  private stamp = 0;
  private routing: Message | undefined;
  private readonly targets: Session[] = [];
  private readonly groups: SharedGroup[] = [];

  constructor(options: Partial<BrokerOptions> = {}) {
    this.options = { ...defaultBrokerOptions, hooks: allowAllHooks, sessionStore: undefined, retainedStore: undefined, ...options };
    this.hooks = { ...allowAllHooks, ...options.hooks };
    this.sessions = this.options.sessionStore ?? new MemorySessionStore();
    this.retained = this.options.retainedStore ?? new MemoryRetainedStore();
    // One timer for keep-alive and connect timeouts of all channels: cheaper in
    // memory than a timer per connection, and 1 s resolution is what keep-alive
    // (whole seconds) needs.
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
  }

  /** Serves one MQTT connection over any duplex byte stream (TCP, TLS, WebSocket). */
  handle(stream: Duplex, transport: Record<string, unknown> = {}): Channel {
    const connection = new Connection(this, stream);
    const channel = new Channel(this, connection, transport);
    connection.attach(channel);
    this.channels.add(channel);
    if (this.closed) channel.disconnect(ReasonCode.ServerShuttingDown);
    return channel;
  }

  get now(): number {
    return this.options.now();
  }

  // ---- routing -------------------------------------------------------------

  /**
   * Routes a message to every matching session. Overlapping subscriptions of
   * one session give one delivery with the highest QoS and all subscription
   * identifiers [MQTT-3.3.4-2, MQTT-3.3.4-3, MQTT-3.3.4-4]. Returns the number
   * of sessions reached.
   */
  publish(message: Message, publisher?: ClientInfo): number {
    this.hooks.onMessagePublished?.(publisher, message);
    this.stats.messagesReceived++;
    if (message.retain) this.storeRetained(message);

    const stamp = ++this.stamp;
    this.routing = message;
    this.routes.match(message.topic, this.collect);
    this.routing = undefined;

    let reached = 0;
    const targets = this.targets;
    for (let i = 0; i < targets.length; i++) {
      const session = targets[i] as Session;
      if (session.matchStamp !== stamp || session.matchNoLocalOnly) continue;
      const qos = (message.qos < session.matchQos ? message.qos : session.matchQos) as QoS;
      this.deliver(session, {
        message,
        qos,
        retain: message.retain && session.matchRetain,
        subscriptionIds: session.matchIds,
      });
      reached++;
    }
    targets.length = 0;

    const groups = this.groups;
    for (let i = 0; i < groups.length; i++) {
      if (this.deliverShared(groups[i] as SharedGroup, message)) reached++;
    }
    groups.length = 0;
    if (reached === 0) this.stats.countDrop("no-subscribers");
    return reached;
  }

  private readonly collect = (entry: RouteEntry): void => {
    if (entry.shared) {
      this.groups.push(entry);
      return;
    }
    const message = this.routing as Message;
    const session = entry.session;
    // No Local: not delivered to the connection that published it [MQTT-3.8.3-3].
    const local = entry.noLocal && message.senderId === session.key;
    if (session.matchStamp !== this.stamp) {
      session.matchStamp = this.stamp;
      session.matchNoLocalOnly = local;
      session.matchQos = entry.qos;
      session.matchRetain = entry.retainAsPublished;
      session.matchIds = entry.subscriptionId === undefined || local ? undefined : [entry.subscriptionId];
      this.targets.push(session);
      return;
    }
    if (local) return;
    if (session.matchNoLocalOnly) {
      session.matchNoLocalOnly = false;
      session.matchQos = entry.qos;
      session.matchRetain = entry.retainAsPublished;
      session.matchIds = entry.subscriptionId === undefined ? undefined : [entry.subscriptionId];
      return;
    }
    if (entry.qos > session.matchQos) session.matchQos = entry.qos;
    if (entry.retainAsPublished) session.matchRetain = true;
    if (entry.subscriptionId !== undefined) (session.matchIds ??= []).push(entry.subscriptionId);
  };

  /**
   * Shared subscriptions: each message goes to one member [MQTT-4.8.2-3].
   * Strategy: round-robin over members, skipping offline members and members
   * whose in-flight window is full while any other member can take the message
   * now; if none can, the next member in turn queues it (offline members with
   * a persistent session keep it for when they return).
   */
  private deliverShared(group: SharedGroup, message: Message): boolean {
    const members = group.members;
    const n = members.length;
    if (n === 0) return false;
    let chosen: Subscription | undefined;
    for (let i = 0; i < n; i++) {
      const candidate = members[(group.next + i) % n] as Subscription;
      const owner = candidate.session.owner;
      if (owner && (message.qos === 0 || candidate.session.inflight.size < owner.sendWindow)) {
        chosen = candidate;
        group.next = (group.next + i + 1) % n;
        break;
      }
    }
    if (!chosen) {
      chosen = members[group.next % n] as Subscription;
      group.next = (group.next + 1) % n;
    }
    const qos = (message.qos < chosen.qos ? message.qos : chosen.qos) as QoS;
    this.deliver(chosen.session, {
      message,
      qos,
      retain: message.retain && chosen.retainAsPublished,
      subscriptionIds: chosen.subscriptionId === undefined ? undefined : [chosen.subscriptionId],
    });
    return true;
  }

  /** Hands a delivery to a session: written now, or queued [MQTT-4.6.0]. */
  deliver(session: Session, delivery: Delivery): void {
    const owner = session.owner;
    if (delivery.qos === 0) {
      if (owner) {
        if (!owner.writeDelivery(delivery, 0, false)) this.drop(session, delivery.message, "slow-consumer");
      } else if (this.options.queueQos0Offline && session.expiryInterval > 0) {
        this.enqueue(session, delivery);
      } else {
        this.drop(session, delivery.message, "qos0-offline");
      }
      return;
    }
    if (owner && session.queue.length === 0 && session.inflight.size < owner.sendWindow) {
      const packetId = session.allocatePacketId();
      if (packetId !== 0) {
        session.inflight.set(packetId, { packetId, delivery, released: false });
        owner.writeDelivery(delivery, packetId, false);
        return;
      }
    }
    this.enqueue(session, delivery);
  }

  private enqueue(session: Session, delivery: Delivery): void {
    const { maxQueuedMessages, maxQueuedBytes, queueOverflow } = this.options;
    const size = delivery.message.payload.length;
    while (session.queue.length >= maxQueuedMessages || session.queuedBytes + size > maxQueuedBytes) {
      if (queueOverflow === "drop-new" || session.queue.length === 0) {
        this.drop(session, delivery.message, "queue-full");
        return;
      }
      const oldest = session.queue.shift() as Delivery;
      session.queuedBytes -= oldest.message.payload.length;
      this.drop(session, oldest.message, "queue-full");
    }
    session.queue.push(delivery);
    session.queuedBytes += size;
  }

  /** Moves queued deliveries into the in-flight window after an ack or on resume [MQTT-4.9.0-1]. */
  drainQueue(session: Session): void {
    const owner = session.owner;
    if (!owner) return;
    const now = this.now;
    while (session.queue.length > 0 && session.inflight.size < owner.sendWindow) {
      const delivery = session.queue.shift() as Delivery;
      session.queuedBytes -= delivery.message.payload.length;
      if (isExpired(delivery.message, now)) {
        // Expired messages are not forwarded [MQTT-3.3.2-5].
        this.drop(session, delivery.message, "expired");
        continue;
      }
      if (delivery.qos === 0) {
        owner.writeDelivery(delivery, 0, false);
        continue;
      }
      const packetId = session.allocatePacketId();
      if (packetId === 0) {
        session.queue.push(delivery);
        return;
      }
      session.inflight.set(packetId, { packetId, delivery, released: false });
      owner.writeDelivery(delivery, packetId, false);
    }
  }

  drop(session: Session, message: Message, reason: DropReason): void {
    this.stats.countDrop(reason);
    this.hooks.onMessageDropped?.(session.key, message, reason);
  }

  private storeRetained(message: Message): void {
    // An empty retained payload clears the topic and is not stored [MQTT-3.3.1-6, MQTT-3.3.1-7].
    if (message.payload.length === 0) {
      this.retained.set(message.topic, null);
    } else if (this.retained.size < this.options.maxRetainedMessages || this.retained.get(message.topic)) {
      this.retained.set(message.topic, message);
    } else {
      this.stats.countDrop("queue-full");
    }
  }

  // ---- subscriptions ---------------------------------------------------------

  /** Adds or replaces a subscription; returns true if it existed before [MQTT-3.8.4-3]. */
  subscribe(sub: Subscription): boolean {
    const session = sub.session;
    const id = sub.group === undefined ? sub.filter : `$share/${sub.group}/${sub.filter}`;
    const existed = session.subscriptions.has(id);
    if (existed) this.removeRoute(session.subscriptions.get(id) as Subscription);
    session.subscriptions.set(id, sub);
    if (sub.group === undefined) {
      this.routes.add(sub.filter, session.key, sub);
    } else {
      const key = SHARED_KEY_PREFIX + sub.group;
      let group = this.routes.get(sub.filter, key) as SharedGroup | undefined;
      if (!group) {
        group = { shared: true, group: sub.group, filter: sub.filter, members: [], next: 0 };
        this.routes.add(sub.filter, key, group);
      }
      group.members.push(sub);
    }
    this.stats.subscriptions = this.routes.size;
    return existed;
  }

  /** Removes a subscription by its id (filter, or `$share/<group>/<filter>`). */
  unsubscribe(session: Session, id: string): boolean {
    const sub = session.subscriptions.get(id);
    if (!sub) return false;
    session.subscriptions.delete(id);
    this.removeRoute(sub);
    this.stats.subscriptions = this.routes.size;
    return true;
  }

  private removeRoute(sub: Subscription): void {
    if (sub.group === undefined) {
      this.routes.remove(sub.filter, sub.session.key);
      return;
    }
    const key = SHARED_KEY_PREFIX + sub.group;
    const group = this.routes.get(sub.filter, key) as SharedGroup | undefined;
    if (!group) return;
    const i = group.members.indexOf(sub);
    if (i >= 0) group.members.splice(i, 1);
    if (group.members.length === 0) this.routes.remove(sub.filter, key);
  }

  /** Retained messages for a new subscription, honouring message expiry. */
  retainedFor(filter: string): Message[] {
    const now = this.now;
    return this.retained.match(filter).filter((m) => {
      if (!isExpired(m, now)) return true;
      this.retained.set(m.topic, null);
      return false;
    });
  }

  // ---- sessions --------------------------------------------------------------

  /** Ends a session: its subscriptions, queue and in-flight state go [MQTT-4.1.0-2]. */
  endSession(session: Session): void {
    if (session.expiryTimer) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    for (const sub of session.subscriptions.values()) this.removeRoute(sub);
    session.subscriptions.clear();
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
    this.stats.subscriptions = this.routes.size;
    // A pending delayed will is sent when the session ends [MQTT-3.1.3-9].
    this.fireWill(session.key);
  }

  /** Called when a session loses its connection. */
  sessionOffline(session: Session): void {
    session.owner = undefined;
    const expiry = session.expiryInterval;
    if (expiry === 0) {
      this.endSession(session);
    } else if (expiry !== NEVER_EXPIRES) {
      session.expiryTimer = setTimeout(() => this.endSession(session), expiry * 1000);
      session.expiryTimer.unref();
    }
  }

  scheduleWill(sessionKey: string, client: ClientInfo, message: Message, delaySeconds: number): void {
    if (delaySeconds <= 0) {
      this.publishWill(client, message);
      return;
    }
    const timer = setTimeout(() => this.fireWill(sessionKey), delaySeconds * 1000);
    timer.unref();
    this.pendingWills.set(sessionKey, { message, timer, client });
  }

  /** A reconnect before the will delay elapses cancels the will [MQTT-3.1.3-9]. */
  cancelWill(sessionKey: string): void {
    const pending = this.pendingWills.get(sessionKey);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pendingWills.delete(sessionKey);
  }

  private fireWill(sessionKey: string): void {
    const pending = this.pendingWills.get(sessionKey);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pendingWills.delete(sessionKey);
    this.publishWill(pending.client, pending.message);
  }

  private publishWill(client: ClientInfo, will: Message): void {
    const interval = will.properties?.messageExpiryInterval;
    const message = interval === undefined ? will : { ...will, expiresAt: this.now + interval * 1000 };
    const decision = this.hooks.authorizePublish(client, message.topic.slice(client.mountPoint.length), message.qos, message.retain);
    if (typeof decision === "number") {
      if (decision < 0x80) this.publish(message, client);
      return;
    }
    decision.then(
      (code) => {
        if (code < 0x80) this.publish(message, client);
      },
      () => undefined,
    );
  }

  // ---- output batching ---------------------------------------------------------

  /**
   * Connections collect outgoing frames during a tick and flush once: a
   * burst of PUBLISHes parsed from one TCP read becomes one write per
   * subscriber instead of one per message.
   */
  markDirty(connection: Connection): void {
    this.dirty.push(connection);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) (dirty[i] as Connection).flush();
    dirty.length = 0;
  };

  private tick(): void {
    const now = this.now;
    for (const channel of this.channels) channel.tick(now);
  }

  /**
   * Disconnects every client (v5: DISCONNECT with the reason, Server shutting
   * down by default), waits up to `graceMs` for their connections to close so
   * the DISCONNECTs reach them, and stops timers.
   */
  async close(reasonCode: number = ReasonCode.ServerShuttingDown, graceMs = 2000): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    for (const channel of [...this.channels]) channel.disconnect(reasonCode);
    this.flush();
    for (const pending of this.pendingWills.values()) clearTimeout(pending.timer);
    for (const session of this.sessions.values()) if (session.expiryTimer) clearTimeout(session.expiryTimer);
    const deadline = Date.now() + graceMs;
    while (this.channels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const channel of [...this.channels]) channel.connection.destroy();
  }
}
