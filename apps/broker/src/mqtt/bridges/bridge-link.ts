import mqtt, { type IClientPublishOptions, type IPublishPacket, type MqttClient } from "mqtt";
import type { Broker, InternalSubscription, Message, MessageProperties, QoS } from "@halyard/engine";
import { isValidTopicFilter, isValidTopicName, messageFromPublish } from "@halyard/engine";
import type { Logger } from "pino";

/**
 * One running bridge: an MQTT.js client connected to the remote broker and,
 * on the local side, an in-process subscription in the tenant's namespace.
 *
 * - out: messages routed in the tenant that match `localFilter` are sent to
 *   the remote as `<remotePrefix><topic>`, QoS min(original, 1), RETAIN as
 *   published, v5 properties kept (expiry as the time left).
 * - in: the remote subscription `<remotePrefix><localFilter>` (QoS 1, No
 *   Local, Retain As Published) is published into the tenant with the prefix
 *   stripped.
 * - both: both, without loops: the remote does not send our own publishes
 *   back (No Local), and what came in is published locally with the local
 *   subscription's sender id, which that subscription skips (No Local too).
 *
 * The remote keeps our session while we are away (clean start off, session
 * expiry one day) so it queues QoS 1 messages for the `in` side; QoS 1
 * messages for the `out` side wait in a bounded buffer here while the remote
 * is unreachable (QoS 0 ones are dropped then, as Mosquitto does by default),
 * and messages not acknowledged when a connection drops are sent again
 * (at least once). Reconnects back off exponentially up to 30 s.
 *
 * Only remotes without authentication (or TLS with public certificates) are
 * supported: the bridge schema has no secret field, and secrets do not go in
 * the URL.
 */

export type BridgeState = "connected" | "connecting" | "disabled" | "error" | "standby";

export interface BridgeConfig {
  id: string;
  tenantId: string;
  slug: string;
  name: string;
  remoteUrl: string;
  direction: "in" | "out" | "both";
  localFilter: string;
  remotePrefix: string;
}

/** Counters that outlive one link, so a reconfigured bridge keeps counting. */
export interface BridgeCounters {
  forwardedOut: number;
  forwardedIn: number;
  dropped: number;
}

export interface BridgeStatus extends BridgeCounters {
  state: BridgeState;
  lastError?: string;
  /** Messages waiting for the remote (buffered or unacknowledged). */
  buffered: number;
  /** When the state last changed (ISO 8601). */
  since: string;
}

/** A message on its way out; the topic is the local one (without mount point or prefix). */
export interface OutEntry {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
  properties: MessageProperties | undefined;
  expiresAt: number | undefined;
  /** Bumped when the entry is queued again after a lost connection; a late callback of an older attempt is ignored. */
  attempt: number;
}

export interface LinkOptions {
  /** Out messages buffered while the remote is unreachable (beyond: new ones dropped). */
  maxBuffered: number;
  /** Unacknowledged QoS 1 messages on the wire at once (also capped by the remote's Receive Maximum). */
  maxInflight: number;
  /** Session expiry asked of the remote, seconds. */
  sessionExpiry: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_LINK_OPTIONS: LinkOptions = {
  maxBuffered: 10_000,
  maxInflight: 1024,
  sessionExpiry: 86_400,
  backoffMinMs: 500,
  backoffMaxMs: 30_000,
  connectTimeoutMs: 10_000,
};

/** Maximum length of `lastError` (remote reason strings are the remote's to choose). */
const MAX_ERROR = 300;

function cappedQos(qos: QoS): 0 | 1 {
  return qos === 0 ? 0 : 1;
}

/** MQTT topic matching for one filter (used to refuse messages a stale remote subscription still sends). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return !(i === 0 && topic.startsWith("$"));
    if (i >= t.length) return false;
    if (level === "+") {
      if (i === 0 && topic.startsWith("$")) return false;
      continue;
    }
    if (level !== t[i]) return false;
  }
  return f.length === t.length;
}

export class BridgeLink {
  private client: MqttClient | undefined;
  private local: InternalSubscription | undefined;
  /** Waiting to be sent (remote unreachable, or in-flight window full). */
  private readonly pending: OutEntry[] = [];
  private readonly unacked = new Set<OutEntry>();
  private window: number;
  private state: BridgeState = "connecting";
  private lastError: string | undefined;
  private since = new Date();
  private backoff: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Sender id of messages this bridge publishes locally (No Local for its own out side). */
  private readonly inboundSender: string;
  private readonly mount: string;

  constructor(
    readonly config: BridgeConfig,
    private readonly broker: Broker,
    readonly counters: BridgeCounters,
    private readonly logger: Logger,
    private readonly options: LinkOptions = DEFAULT_LINK_OPTIONS,
  ) {
    this.mount = config.slug + "/";
    this.window = options.maxInflight;
    this.backoff = options.backoffMinMs;
    this.inboundSender = `${this.mount}\u0000\u0000bridge:${config.id}`;
  }

  get sendsOut(): boolean {
    return this.config.direction !== "in";
  }

  get receivesIn(): boolean {
    return this.config.direction !== "out";
  }

  /** Starts the link; `carried` are out messages a previous link of the same bridge had not delivered. */
  start(carried: OutEntry[] = []): void {
    const c = this.config;
    // Rule filters may hold ${clientid}/${username}; a bridge has no client to substitute them for.
    if (c.localFilter.includes("${") || !isValidTopicFilter(c.localFilter) || !isValidTopicFilter(c.remotePrefix + c.localFilter)) {
      this.setState("error", "localFilter (with remotePrefix) is not a plain MQTT topic filter; variables are not supported in bridges");
      return;
    }
    if (this.sendsOut) {
      for (const e of carried) this.buffer(e);
      this.local = this.broker.subscribeInternal(this.mount + c.localFilter, this.onLocal, {
        qos: 1,
        noLocal: true,
        retainAsPublished: true,
        mountPoint: this.mount,
      });
    }
    this.connect();
  }

  private connect(): void {
    const c = this.config;
    const client = mqtt.connect(c.remoteUrl, {
      clientId: `halyard-bridge-${c.slug}-${c.name}`,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: this.options.sessionExpiry },
      keepalive: 60,
      connectTimeout: this.options.connectTimeoutMs,
      // Reconnects are scheduled here, with exponential backoff.
      reconnectPeriod: 0,
      resubscribe: false,
    });
    this.client = client;
    client.on("connect", (connack) => {
      if (this.client !== client) return;
      this.backoff = this.options.backoffMinMs;
      this.lastError = undefined;
      this.window = Math.min(this.options.maxInflight, connack.properties?.receiveMaximum ?? 65_535);
      this.setState("connected");
      this.logger.info({ tenant: c.slug, bridge: c.name, sessionPresent: connack.sessionPresent }, "bridge connected");
      if (this.receivesIn) {
        // Subscribed on every connection: the remote may have lost our session.
        client.subscribe(c.remotePrefix + c.localFilter, { qos: 1, nl: true, rap: true, rh: 0 }, (err, granted) => {
          const code = granted?.[0]?.qos;
          if (err || (code !== undefined && code >= 0x80)) this.fail(`remote refused the subscription: ${err?.message ?? `reason 0x${code!.toString(16)}`}`);
        });
      }
      this.pump();
    });
    client.on("message", (topic, payload, packet) => this.onRemote(topic, payload, packet));
    client.on("error", (err: Error & { code?: number | string }) => {
      if (this.client !== client) return;
      // A CONNACK refusal (number code) is the remote's answer: an error until it accepts us.
      // A socket error (ECONNREFUSED, DNS, timeout) just means we keep trying.
      if (typeof err.code === "number") this.fail(`remote refused the connection: ${err.message} (reason 0x${err.code.toString(16)})`);
      else this.lastError = (err.message || String(err.code)).slice(0, MAX_ERROR);
    });
    client.on("close", () => {
      if (this.client !== client || this.stopped) return;
      this.requeueUnacked();
      if (this.state !== "error") this.setState("connecting", this.lastError);
      this.scheduleReconnect(client);
    });
  }

  private scheduleReconnect(client: MqttClient): void {
    if (this.retryTimer) return;
    // Full jitter keeps many bridges to one remote from reconnecting in step.
    const delay = Math.round(this.backoff / 2 + Math.random() * (this.backoff / 2));
    this.backoff = Math.min(this.options.backoffMaxMs, this.backoff * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped || this.client !== client) return;
      client.reconnect();
    }, delay);
    this.retryTimer.unref();
  }

  private fail(reason: string): void {
    this.setState("error", reason);
    this.logger.warn({ tenant: this.config.slug, bridge: this.config.name, reason }, "bridge error");
  }

  private setState(state: BridgeState, lastError?: string): void {
    if (lastError !== undefined) this.lastError = lastError.slice(0, MAX_ERROR);
    if (state !== this.state) {
      this.state = state;
      this.since = new Date();
    }
  }

  // ---- out: local -> remote ------------------------------------------------------------

  private readonly onLocal = (message: Message, qos: QoS, retain: boolean): void => {
    this.buffer({
      topic: message.topic.slice(this.mount.length),
      payload: message.payload,
      qos: cappedQos(qos),
      retain,
      properties: message.properties,
      expiresAt: message.expiresAt,
      attempt: 0,
    });
    this.pump();
  };

  private buffer(entry: OutEntry): void {
    if (entry.qos === 0 && this.state !== "connected") {
      this.counters.dropped++;
      return;
    }
    if (this.pending.length >= this.options.maxBuffered) {
      this.counters.dropped++;
      return;
    }
    this.pending.push(entry);
  }

  /** Sends what waits, while connected and the in-flight window has room. */
  private pump(): void {
    const client = this.client;
    if (!client || this.state !== "connected" || !client.connected) return;
    const now = Date.now();
    while (this.pending.length > 0) {
      const entry = this.pending[0] as OutEntry;
      if (entry.qos === 1 && this.unacked.size >= this.window) return;
      this.pending.shift();
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
        this.counters.dropped++;
        continue;
      }
      this.send(client, entry, now);
    }
  }

  private send(client: MqttClient, entry: OutEntry, now: number): void {
    const opts: IClientPublishOptions = { qos: entry.qos, retain: entry.retain };
    const p = entry.properties;
    if (p) {
      opts.properties = {
        ...(p.payloadFormatIndicator !== undefined ? { payloadFormatIndicator: p.payloadFormatIndicator } : {}),
        ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
        ...(p.responseTopic !== undefined ? { responseTopic: this.config.remotePrefix + p.responseTopic } : {}),
        ...(p.correlationData !== undefined ? { correlationData: p.correlationData } : {}),
        ...(p.userProperties !== undefined ? { userProperties: p.userProperties } : {}),
        ...(entry.expiresAt !== undefined ? { messageExpiryInterval: Math.max(1, Math.ceil((entry.expiresAt - now) / 1000)) } : {}),
      };
    }
    const attempt = entry.attempt;
    if (entry.qos === 1) this.unacked.add(entry);
    client.publish(this.config.remotePrefix + entry.topic, entry.payload, opts, (err) => {
      if (entry.attempt !== attempt) return;
      if (err) {
        // Connection lost before the ack: `close` puts it back in the queue.
        if (entry.qos === 0) this.counters.dropped++;
        return;
      }
      this.counters.forwardedOut++;
      if (entry.qos === 1) {
        this.unacked.delete(entry);
        this.pump();
      }
    });
  }

  /** After a lost connection, unacknowledged messages go first in the queue again (in their order). */
  private requeueUnacked(): void {
    if (this.unacked.size === 0) return;
    const again = [...this.unacked];
    this.unacked.clear();
    for (const e of again) e.attempt++;
    this.pending.unshift(...again);
  }

  // ---- in: remote -> local -------------------------------------------------------------

  private onRemote(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const c = this.config;
    // A remote session from an earlier configuration may still hold other subscriptions.
    if (!topic.startsWith(c.remotePrefix) || !topicMatches(c.remotePrefix + c.localFilter, topic)) return;
    const local = topic.slice(c.remotePrefix.length);
    // Nothing is injected into the tenant's `$` topics ($SYS is the broker's).
    if (local.length === 0 || local.startsWith("$") || !isValidTopicName(local)) {
      this.counters.dropped++;
      return;
    }
    // Properties and expiry exactly as for a client's PUBLISH; then the bridge's own rewrites.
    // The out side's own subscription skips messages with its sender id (No Local): no loop.
    const message = messageFromPublish({ ...packet, payload, qos: cappedQos(packet.qos) }, this.mount + local, this.local?.senderId ?? this.inboundSender, Date.now());
    const rt = message.properties?.responseTopic;
    if (message.properties && rt !== undefined) {
      // A response topic outside the prefix has no local name; it is dropped rather than pointed at a foreign topic.
      if (rt.startsWith(c.remotePrefix) && rt.length > c.remotePrefix.length) message.properties.responseTopic = rt.slice(c.remotePrefix.length);
      else delete message.properties.responseTopic;
    }
    this.broker.publishInternal(message);
    this.counters.forwardedIn++;
  }

  // ---- lifecycle -----------------------------------------------------------------------

  status(): BridgeStatus {
    return {
      state: this.state,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      forwardedOut: this.counters.forwardedOut,
      forwardedIn: this.counters.forwardedIn,
      dropped: this.counters.dropped,
      buffered: this.pending.length + this.unacked.size,
      since: this.since.toISOString(),
    };
  }

  /**
   * Stops the link and returns the out messages it had not delivered (for the
   * link that replaces it). `discardRemoteSession` ends the remote session
   * too (bridge deleted, disabled or reconfigured); on broker shutdown the
   * remote keeps it, so messages for us queue there until we are back.
   */
  async stop(discardRemoteSession: boolean): Promise<OutEntry[]> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.local?.unsubscribe();
    const left = [...this.unacked, ...this.pending];
    for (const e of left) e.attempt++;
    this.unacked.clear();
    this.pending.length = 0;
    const client = this.client;
    this.client = undefined;
    if (client) {
      const graceful = client.connected;
      const opts = discardRemoteSession ? { properties: { sessionExpiryInterval: 0 } } : {};
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        timer.unref();
        client.end(!graceful, graceful ? opts : {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return left;
  }
}
