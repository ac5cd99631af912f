import type { Duplex } from "node:stream";
import { Channel } from "./channel.ts";
import { Connection } from "./connection.ts";
import { allowAllHooks, type BrokerHooks, type ClientInfo, type DropReason } from "./hooks.ts";
import { isExpired, type Message, type QoS } from "./message.ts";
import { checkRuntimeOptions, defaultBrokerOptions, type BrokerOptions, type RuntimeOptions } from "./options.ts";
import { MemoryRetainedStore, type RetainedStore } from "./retained-store.ts";
import { ReasonCode } from "./reason-codes.ts";
import { hidesDollarTopic, Session, type Delivery, type InflightDelivery, type SessionOwner, type Subscription } from "./session.ts";
import {
  MemorySessionStore,
  toStoredMessage,
  type DeliveryRecord,
  type SessionStore,
  type StoredMessage,
  type WillRecord,
} from "./session-store.ts";
import { BrokerStats } from "./stats.ts";
import { TopicTrie } from "./topic-trie.ts";
import { isValidTopicFilter } from "./topic.ts";

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

const HOOK_NAMES = [
  "authenticate",
  "authorizePublish",
  "authorizeSubscribe",
  "authorizeDeliver",
  "onClientConnected",
  "onClientDisconnected",
  "onMessagePublished",
  "onMessageDelivered",
  "onMessageDropped",
] as const;

/**
 * Takes each hook by name from the given object, bound to it, falling back to
 * allow-all. Hooks are often methods of a class instance: spreading such an
 * object would copy no methods at all and silently allow everything.
 */
function bindHooks(given: Partial<BrokerHooks> | undefined): BrokerHooks {
  const hooks: Record<string, unknown> = { ...allowAllHooks };
  if (!given) return hooks as unknown as BrokerHooks;
  for (const name of HOOK_NAMES) {
    const fn = (given as Record<string, unknown>)[name];
    if (typeof fn === "function") hooks[name] = fn.bind(given);
  }
  return hooks as unknown as BrokerHooks;
}

/** The id a session knows a subscription by: its filter, or `$share/<group>/<filter>`. */
function subscriptionKey(sub: Subscription): string {
  return sub.group === undefined ? sub.filter : `$share/${sub.group}/${sub.filter}`;
}

function fromStoredMessage(m: StoredMessage): Message {
  return { ...m, payload: Buffer.from(m.payload) };
}

function willRecord(client: ClientInfo, message: Message, delay: number, fireAt: number | undefined): WillRecord {
  return {
    message: toStoredMessage(message),
    delay,
    fireAt,
    client: { clientId: client.clientId, username: client.username, mountPoint: client.mountPoint, attributes: { ...client.attributes } },
  };
}
const NEVER_EXPIRES = 0xffffffff;

/** Options of an in-process subscriber (see `Broker#subscribeInternal`). */
export interface InternalSubscribeOptions {
  /** Highest QoS to receive (default 2); messages are downgraded as for a client's subscription. */
  qos?: QoS;
  /** Skip messages published with this subscription's `senderId` (MQTT v5 No Local) [MQTT-3.8.3-3]. */
  noLocal?: boolean;
  /** Keep the publisher's RETAIN flag (v5 Retain As Published; default true) [MQTT-3.8.3-4]. */
  retainAsPublished?: boolean;
  /**
   * The namespace the filter lives in (a tenant's mount point, `<slug>/`):
   * `+`/`#` right after it do not match `$` topics there, as for the
   * namespace's own clients [MQTT-4.7.2-1]. The filter itself is the routed
   * one, i.e. it already starts with the mount point.
   */
  mountPoint?: string;
}

/** A running in-process subscription. */
export interface InternalSubscription {
  /**
   * The sender id to give messages this subscriber publishes itself
   * (`publishInternal({ ..., senderId })`): with `noLocal` they are not
   * delivered back to it, which is how a bridge avoids loops.
   */
  readonly senderId: string;
  /** Removes the subscription; no callback runs afterwards. Idempotent. */
  unsubscribe(): void;
}

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
  /** Live sessions by key; persistent ones are mirrored to `store`. */
  readonly sessions = new Map<string, Session>();
  readonly store: SessionStore;
  readonly retained: RetainedStore;
  readonly stats = new BrokerStats();
  /** Channels by session key, for takeover [MQTT-3.1.4-3]. */
  readonly connected = new Map<string, Channel>();
  readonly channels = new Set<Channel>();
  private readonly routes = new TopicTrie<RouteEntry>();
  private readonly pendingWills = new Map<string, PendingWill>();
  private readonly dirty: Connection[] = [];
  /** Connections holding frames until a store batch is durable. */
  private readonly gated = new Set<Connection>();
  /** Highest store batch known durable. */
  durableBatch = 0;
  /** Order of persisted deliveries; continues from the highest stored seq after recovery. */
  private deliverySeq = 0;
  /** Numbers in-process subscribers (subscribeInternal). */
  private internalSeq = 0;
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
    this.hooks = bindHooks(options.hooks);
    this.store = this.options.sessionStore ?? new MemorySessionStore();
    this.store.onDurable((batch, error) => this.onDurable(batch, error));
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

  /**
   * Changes options while running (configuration reload). Validated as a
   * whole first: an invalid value throws a RangeError and changes nothing.
   * New values apply from the next packet, delivery or connection; limits a
   * connected client was told in its CONNACK stay for its connection.
   */
  updateOptions(partial: Partial<RuntimeOptions>): void {
    checkRuntimeOptions(partial);
    const options = this.options as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(partial)) if (value !== undefined) options[key] = value;
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
    return this.route(message);
  }

  /**
   * Routes a message the broker itself produces ($SYS, a bridge): not counted
   * as client traffic, no publish hook. Give `senderId` of an internal
   * subscription to keep the message from that subscription (No Local).
   */
  publishInternal(message: Message): number {
    return this.route(message);
  }

  private route(message: Message): number {
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
      const first = entry.members[0];
      if (first && first.session.mountLength !== 0 && hidesDollarTopic(first.session.mountLength, entry.filter, (this.routing as Message).topic)) return;
      this.groups.push(entry);
      return;
    }
    const message = this.routing as Message;
    const session = entry.session;
    if (session.mountLength !== 0 && hidesDollarTopic(session.mountLength, entry.filter, message.topic)) return;
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
        if (this.enqueue(session, delivery)) this.persistDelivery(session, delivery, 0, false);
      } else {
        this.drop(session, delivery.message, "qos0-offline");
      }
      return;
    }
    if (owner && session.queue.length === 0 && session.inflight.size < owner.sendWindow) {
      const packetId = session.allocatePacketId();
      if (packetId !== 0) {
        this.startInflight(session, delivery, packetId);
        return;
      }
    }
    if (this.enqueue(session, delivery)) this.persistDelivery(session, delivery, 0, false);
  }

  /** Bounded queue [MQTT-4.9.0]; returns false when the delivery was dropped. */
  private enqueue(session: Session, delivery: Delivery): boolean {
    const { maxQueuedBytes, queueOverflow } = this.options;
    const maxQueuedMessages = session.maxQueued ?? this.options.maxQueuedMessages;
    const size = delivery.message.payload.length;
    while (session.queue.length >= maxQueuedMessages || session.queuedBytes + size > maxQueuedBytes) {
      if (queueOverflow === "drop-new" || session.queue.length === 0) {
        this.drop(session, delivery.message, "queue-full");
        return false;
      }
      const oldest = session.queue.shift() as Delivery;
      session.queuedBytes -= oldest.message.payload.length;
      this.forget(session, oldest);
      this.drop(session, oldest.message, "queue-full");
    }
    session.queue.push(delivery);
    session.queuedBytes += size;
    return true;
  }

  /** Puts a QoS 1/2 delivery in flight under `packetId` and writes it [MQTT-4.3.2, MQTT-4.3.3]. */
  private startInflight(session: Session, delivery: Delivery, packetId: number): void {
    session.inflight.set(packetId, { packetId, delivery, released: false });
    this.persistDelivery(session, delivery, packetId, false);
    (session.owner as SessionOwner).writeDelivery(delivery, packetId, false);
  }

  /** PUBACK, PUBCOMP or a failed PUBREC ended the flow: free the id, pull the queue. */
  completeInflight(session: Session, packetId: number): void {
    const inflight = session.inflight.get(packetId);
    if (!inflight) return;
    session.inflight.delete(packetId);
    this.forget(session, inflight.delivery);
    this.drainQueue(session);
  }

  /** PUBREC received: from now on PUBREL, not PUBLISH, is what a resume re-sends [MQTT-4.3.3-3]. */
  releaseInflight(session: Session, inflight: InflightDelivery): void {
    inflight.released = true;
    this.persistDelivery(session, inflight.delivery, inflight.packetId, true);
  }

  private persistDelivery(session: Session, delivery: Delivery, packetId: number, released: boolean): void {
    if (!session.persisted) return;
    delivery.seq ??= ++this.deliverySeq;
    const record: DeliveryRecord = {
      message: toStoredMessage(delivery.message),
      qos: delivery.qos,
      retain: delivery.retain,
      subscriptionIds: delivery.subscriptionIds,
      packetId,
      released,
    };
    this.store.saveDelivery(session.key, delivery.seq, record);
  }

  private forget(session: Session, delivery: Delivery): void {
    if (delivery.seq !== undefined && session.persisted) this.store.deleteDelivery(session.key, delivery.seq);
  }

  /** Moves queued deliveries into the in-flight window after an ack or on resume [MQTT-4.9.0-1]. */
  drainQueue(session: Session): void {
    const owner = session.owner;
    if (!owner) return;
    const held = session.heldResends;
    if (held.length > 0) {
      // Held resends count against the window until sent; drop those acknowledged meanwhile.
      let live = 0;
      for (const h of held) if (session.inflight.get(h.packetId) === h) held[live++] = h;
      held.length = live;
      while (held.length > 0 && session.inflight.size - held.length < owner.sendWindow) {
        const inflight = held.shift() as InflightDelivery;
        owner.writeDelivery(inflight.delivery, inflight.packetId, true);
      }
    }
    const now = this.now;
    while (session.queue.length > 0 && session.inflight.size < owner.sendWindow) {
      const delivery = session.queue.shift() as Delivery;
      session.queuedBytes -= delivery.message.payload.length;
      if (isExpired(delivery.message, now)) {
        // Expired messages are not forwarded [MQTT-3.3.2-5].
        this.forget(session, delivery);
        this.drop(session, delivery.message, "expired");
        continue;
      }
      if (delivery.qos === 0) {
        this.forget(session, delivery);
        owner.writeDelivery(delivery, 0, false);
        continue;
      }
      const packetId = session.allocatePacketId();
      if (packetId === 0) {
        session.queue.push(delivery);
        return;
      }
      this.startInflight(session, delivery, packetId);
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
  subscribe(sub: Subscription, persist = true): boolean {
    const session = sub.session;
    const id = subscriptionKey(sub);
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
    if (persist && session.persisted) {
      this.store.saveSubscription(session.key, id, {
        filter: sub.filter,
        group: sub.group,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        subscriptionId: sub.subscriptionId,
      });
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
    if (session.persisted) this.store.deleteSubscription(session.key, id);
    this.stats.subscriptions = this.routes.size;
    return true;
  }

  /**
   * Subscribes code running in this process (a bridge, a rule engine) to
   * routed messages, with the same matching, QoS downgrade, No Local and
   * `$` rules as a client's subscription, but no socket, no session in
   * `sessions`, no store records and no queue: `onMessage` runs synchronously
   * during routing, once per message however many of its filters match, and
   * QoS 1/2 deliveries count as acknowledged when it returns. It must be
   * quick and must not throw (an exception is swallowed so routing to other
   * subscribers goes on); buffering is the subscriber's business.
   * The filter is the routed one (with its mount point); `$share` is not
   * supported. Throws a RangeError for an invalid filter.
   */
  subscribeInternal(
    filter: string,
    onMessage: (message: Message, qos: QoS, retain: boolean) => void,
    options: InternalSubscribeOptions = {},
  ): InternalSubscription {
    if (!isValidTopicFilter(filter) || filter.startsWith("$share/")) throw new RangeError(`invalid topic filter for an internal subscription: ${filter}`);
    // Client ids cannot contain U+0000 [MQTT-1.5.4-2], so "<mount>\0\0internal:n" never collides with "<mount>\0<clientId>".
    const session = new Session(`${options.mountPoint ?? ""}\u0000\u0000internal:${++this.internalSeq}`);
    let active = true;
    session.owner = {
      sendWindow: 0xffff,
      writeDelivery: (delivery, packetId) => {
        if (active) {
          try {
            onMessage(delivery.message, delivery.qos, delivery.retain);
          } catch {
            // One faulty in-process subscriber must not break delivery to the others.
          }
        }
        if (packetId !== 0) this.completeInflight(session, packetId);
        return true;
      },
      writePubrel: () => undefined,
    };
    this.subscribe(
      {
        shared: false,
        session,
        filter,
        qos: options.qos ?? 2,
        noLocal: options.noLocal ?? false,
        retainAsPublished: options.retainAsPublished ?? true,
        retainHandling: 2,
        subscriptionId: undefined,
        group: undefined,
      },
      false,
    );
    return {
      senderId: session.key,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        this.unsubscribe(session, filter);
        session.owner = undefined;
      },
    };
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
  retainedFor(filter: string, mountLength = 0): Message[] {
    const now = this.now;
    return this.retained.match(filter).filter((m) => {
      if (hidesDollarTopic(mountLength, filter, m.topic)) return false;
      if (!isExpired(m, now)) return true;
      this.retained.set(m.topic, null);
      return false;
    });
  }

  // ---- sessions --------------------------------------------------------------

  /** Records a session with a non-zero expiry so a restart finds it [MQTT-4.1.0-1]. */
  persistSession(session: Session): void {
    const expiry = session.expiryInterval;
    if (expiry === 0) {
      // Resumed with expiry 0: the session now ends with this connection and a restart must not revive it.
      if (session.persisted) this.store.deleteSession(session.key);
      session.persisted = false;
      return;
    }
    session.persisted = true;
    const expiresAt = session.owner || expiry === NEVER_EXPIRES ? undefined : this.now + expiry * 1000;
    this.store.saveSession(session.key, { expiryInterval: expiry, expiresAt });
  }

  /** Ends a session: its subscriptions, queue and in-flight state go [MQTT-4.1.0-2]. */
  endSession(session: Session): void {
    if (session.expiryTimer) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    for (const sub of session.subscriptions.values()) this.removeRoute(sub);
    session.subscriptions.clear();
    if (this.sessions.get(session.key) === session) this.sessions.delete(session.key);
    if (session.persisted) this.store.deleteSession(session.key);
    session.persisted = false;
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
      return;
    }
    this.persistSession(session);
    if (expiry !== NEVER_EXPIRES) this.scheduleExpiry(session, expiry * 1000);
  }

  private scheduleExpiry(session: Session, ms: number): void {
    session.expiryTimer = setTimeout(() => this.endSession(session), Math.max(0, ms));
    session.expiryTimer.unref();
  }

  /** Remembers a connected client's will, so a crash does not lose it. */
  registerWill(sessionKey: string, client: ClientInfo, message: Message, delay: number): void {
    this.store.saveWill(sessionKey, willRecord(client, message, delay, undefined));
  }

  /** A normal DISCONNECT discards the will [MQTT-3.1.2-10]. */
  discardWill(sessionKey: string): void {
    this.store.deleteWill(sessionKey);
  }

  /** The connection closed abnormally: publish the will now or after its delay [MQTT-3.1.3-9]. */
  scheduleWill(sessionKey: string, client: ClientInfo, message: Message, delaySeconds: number): void {
    if (delaySeconds <= 0) {
      this.store.deleteWill(sessionKey);
      this.publishWill(client, message);
      return;
    }
    const fireAt = this.now + delaySeconds * 1000;
    this.store.saveWill(sessionKey, willRecord(client, message, delaySeconds, fireAt));
    this.armWill(sessionKey, client, message, fireAt);
  }

  private armWill(sessionKey: string, client: ClientInfo, message: Message, fireAt: number): void {
    const timer = setTimeout(() => this.fireWill(sessionKey), Math.max(0, fireAt - this.now));
    timer.unref();
    this.pendingWills.set(sessionKey, { message, timer, client });
  }

  /** A reconnect before the will delay elapses cancels the will [MQTT-3.1.3-9]. */
  cancelWill(sessionKey: string): void {
    const pending = this.pendingWills.get(sessionKey);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pendingWills.delete(sessionKey);
    this.store.deleteWill(sessionKey);
  }

  private fireWill(sessionKey: string): void {
    const pending = this.pendingWills.get(sessionKey);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pendingWills.delete(sessionKey);
    this.store.deleteWill(sessionKey);
    this.publishWill(pending.client, pending.message);
  }

  private publishWill(client: ClientInfo, will: Message): void {
    const interval = will.properties?.messageExpiryInterval;
    const message = interval === undefined ? will : { ...will, expiresAt: this.now + interval * 1000 };
    const decision = this.hooks.authorizePublish(client, message.topic.slice(client.mountPoint.length), message.qos, message.retain, message.payload.length);
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

  // ---- administration --------------------------------------------------------

  /** Connected clients, for the control plane (connected-clients view, live revocation). */
  clients(): IterableIterator<Channel> {
    return this.connected.values();
  }

  /**
   * Disconnects every connected client the predicate selects (v5: DISCONNECT
   * with the reason, e.g. 0x98 Administrative action). Returns how many.
   */
  disconnectWhere(predicate: (client: ClientInfo) => boolean, reasonCode: number, reasonString?: string): number {
    let n = 0;
    for (const channel of [...this.connected.values()]) {
      if (channel.client && predicate(channel.client)) {
        channel.disconnect(reasonCode, reasonString);
        n++;
      }
    }
    return n;
  }

  // ---- recovery ----------------------------------------------------------------

  /**
   * Rebuilds sessions, subscriptions, queues, in-flight state and wills from
   * the store, expiring what expired while the broker was down. Call once
   * before accepting connections. Sessions whose client was connected when
   * the broker stopped are offline now, so their expiry starts now; their
   * wills are due as after any lost connection.
   */
  async open(): Promise<void> {
    const state = await this.store.load();
    await this.retained.load?.();
    const now = this.now;
    let maxSeq = 0;
    for (const [key, record] of state.sessions) {
      if (record.expiresAt !== undefined && record.expiresAt <= now) {
        this.store.deleteSession(key);
        continue;
      }
      const session = new Session(key);
      session.expiryInterval = record.expiryInterval;
      session.persisted = true;
      this.sessions.set(key, session);
      for (const [id, r] of state.subscriptions.get(key) ?? []) {
        void id;
        this.subscribe({ shared: false, session, ...r }, false);
      }
      for (const [seq, r] of state.deliveries.get(key) ?? []) {
        if (seq > maxSeq) maxSeq = seq;
        const message = fromStoredMessage(r.message);
        if (isExpired(message, now)) {
          this.store.deleteDelivery(key, seq);
          continue;
        }
        const delivery: Delivery = { message, qos: r.qos, retain: r.retain, subscriptionIds: r.subscriptionIds, seq };
        if (r.packetId !== 0) {
          session.inflight.set(r.packetId, { packetId: r.packetId, delivery, released: r.released });
          session.reservePacketId(r.packetId);
        } else {
          session.queue.push(delivery);
          session.queuedBytes += message.payload.length;
        }
      }
      for (const packetId of state.incoming.get(key) ?? []) session.incomingQos2.add(packetId);
      if (record.expiryInterval !== NEVER_EXPIRES) {
        const expiresAt = record.expiresAt ?? now + record.expiryInterval * 1000;
        if (record.expiresAt === undefined) this.store.saveSession(key, { expiryInterval: record.expiryInterval, expiresAt });
        this.scheduleExpiry(session, expiresAt - now);
      }
    }
    this.deliverySeq = maxSeq;
    for (const [key, will] of state.wills) {
      const client: ClientInfo = { ...will.client, protocolVersion: 5, remoteAddress: undefined };
      const message = fromStoredMessage(will.message);
      const fireAt = will.fireAt ?? now + will.delay * 1000;
      if (fireAt <= now || !this.sessions.has(key)) {
        this.store.deleteWill(key);
        this.publishWill(client, message);
      } else {
        if (will.fireAt === undefined) this.store.saveWill(key, { ...will, fireAt });
        this.armWill(key, client, message, fireAt);
      }
    }
  }

  // ---- durability gate -----------------------------------------------------------

  /**
   * Holds every frame the connection writes from now on until the store
   * batch holding the writes made so far is durable. Called right before a
   * packet that tells the client its state is safe (PUBACK, PUBREC, PUBREL,
   * SUBACK, CONNACK, a QoS 2 PUBLISH with a new packet id).
   */
  holdUntilDurable(connection: Connection): void {
    const batch = this.store.pendingBatch();
    if (batch <= this.durableBatch) return;
    connection.holdUntil(batch);
    this.gated.add(connection);
  }

  private onDurable(batch: number, error?: Error): void {
    if (error) {
      // Nothing held was acknowledged: close those clients so they retry
      // against a broker that can store their messages.
      this.stats.storeErrors++;
      for (const connection of this.gated) connection.failHeld();
      this.gated.clear();
      return;
    }
    if (batch > this.durableBatch) this.durableBatch = batch;
    for (const connection of this.gated) if (connection.release(this.durableBatch)) this.gated.delete(connection);
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
   * down by default; with `serverReference`, e.g. 0x9C Use another server,
   * the server to use), waits up to `graceMs` for their connections to close
   * so the DISCONNECTs and any acks still waiting for the store reach them,
   * and stops timers.
   */
  async close(reasonCode: number = ReasonCode.ServerShuttingDown, graceMs = 2000, serverReference?: string): Promise<void> {
    this.closed = true;
    clearInterval(this.ticker);
    for (const channel of [...this.channels]) channel.disconnect(reasonCode, undefined, serverReference);
    this.flush();
    const deadline = Date.now() + graceMs;
    while (this.channels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const channel of [...this.channels]) channel.connection.destroy();
    for (const pending of this.pendingWills.values()) clearTimeout(pending.timer);
    for (const session of this.sessions.values()) if (session.expiryTimer) clearTimeout(session.expiryTimer);
    // Closing the stores flushes what the disconnects above wrote.
    await this.store.close();
    await this.retained.close?.();
  }
}
