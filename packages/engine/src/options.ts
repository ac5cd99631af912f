import type { BrokerHooks } from "./hooks.ts";
import type { RetainedStore } from "./retained-store.ts";
import type { SessionStore } from "./session-store.ts";

export type QueueOverflowPolicy = "drop-new" | "drop-oldest";

export interface BrokerOptions {
  /** Largest packet accepted from a client, advertised in v5 CONNACK [MQTT-3.2.2-15]. */
  maxPacketSize: number;
  /** Receive Maximum advertised to clients: unacknowledged QoS 1/2 PUBLISHes we accept [MQTT-3.3.4-9]. */
  receiveMaximum: number;
  /** Cap on the outgoing in-flight window per client (further limited by the client's Receive Maximum). */
  maxInflightOut: number;
  /** Messages queued per session while offline or while its window is full. */
  maxQueuedMessages: number;
  /** Bytes of payload queued per session. */
  maxQueuedBytes: number;
  /** What to drop when a session queue is full. */
  queueOverflow: QueueOverflowPolicy;
  /** Queue QoS 0 messages for offline persistent sessions (MQTT leaves it to the server). */
  queueQos0Offline: boolean;
  /** Highest keep-alive accepted; larger (or 0) is replaced by this in v5 Server Keep Alive. 0 = no limit. */
  maxKeepAlive: number;
  /** Upper bound on Session Expiry Interval in seconds (0xFFFFFFFF = never expires). */
  maxSessionExpiryInterval: number;
  /** Session expiry for v3 clients with cleanSession=0, in seconds (they have no expiry field). */
  v3SessionExpiryInterval: number;
  /** Topic Alias Maximum advertised to clients (inbound aliases). */
  topicAliasMaximum: number;
  /** Assign topic aliases on outgoing PUBLISH when the client allows them. */
  outgoingTopicAliases: boolean;
  /** Close connections that send no CONNECT within this time. */
  connectTimeoutMs: number;
  /** Bytes buffered on a socket beyond which QoS 0 deliveries to it are dropped (slow consumer). */
  maxWriteBuffer: number;
  /** Retained messages kept (all topics). */
  maxRetainedMessages: number;
  retainAvailable: boolean;
  wildcardSubscriptionAvailable: boolean;
  subscriptionIdentifiersAvailable: boolean;
  sharedSubscriptionAvailable: boolean;
  /** Highest QoS the server supports, advertised as Maximum QoS [MQTT-3.2.2-9]. */
  maximumQoS: 0 | 1 | 2;
  /** Prefix of assigned client identifiers. */
  assignedClientIdPrefix: string;
  /** Extension points; any hook left out allows (see allowAllHooks). */
  hooks: Partial<BrokerHooks>;
  sessionStore: SessionStore | undefined;
  retainedStore: RetainedStore | undefined;
  /** Clock, replaceable in tests. */
  now: () => number;
}

export const defaultBrokerOptions: Omit<BrokerOptions, "hooks" | "sessionStore" | "retainedStore"> = {
  maxPacketSize: 1024 * 1024,
  receiveMaximum: 1024,
  maxInflightOut: 1024,
  maxQueuedMessages: 10_000,
  maxQueuedBytes: 64 * 1024 * 1024,
  queueOverflow: "drop-new",
  queueQos0Offline: false,
  maxKeepAlive: 0,
  maxSessionExpiryInterval: 0xffffffff,
  v3SessionExpiryInterval: 0xffffffff,
  topicAliasMaximum: 65535,
  outgoingTopicAliases: true,
  connectTimeoutMs: 10_000,
  maxWriteBuffer: 8 * 1024 * 1024,
  maxRetainedMessages: 1_000_000,
  retainAvailable: true,
  wildcardSubscriptionAvailable: true,
  subscriptionIdentifiersAvailable: true,
  sharedSubscriptionAvailable: true,
  maximumQoS: 2,
  assignedClientIdPrefix: "halyard-",
  now: Date.now,
};

/**
 * Options that may change while the broker runs (`Broker#updateOptions`).
 * Each applies from the next packet, delivery or connection; limits a client
 * was told in its CONNACK (Receive Maximum, Topic Alias Maximum, Maximum
 * Packet Size, Server Keep Alive) stay as they were for that connection.
 */
export const RUNTIME_OPTIONS = [
  "maxPacketSize",
  "receiveMaximum",
  "maxInflightOut",
  "maxQueuedMessages",
  "maxQueuedBytes",
  "queueOverflow",
  "queueQos0Offline",
  "maxKeepAlive",
  "maxSessionExpiryInterval",
  "v3SessionExpiryInterval",
  "topicAliasMaximum",
  "connectTimeoutMs",
  "maxWriteBuffer",
  "maxRetainedMessages",
] as const;

export type RuntimeOptions = Pick<BrokerOptions, (typeof RUNTIME_OPTIONS)[number]>;

/** Range of each numeric runtime option (inclusive), as the protocol allows it. */
const RUNTIME_RANGES: Record<Exclude<keyof RuntimeOptions, "queueOverflow" | "queueQos0Offline">, [number, number]> = {
  maxPacketSize: [1, 268_435_455 + 5],
  receiveMaximum: [1, 65_535],
  maxInflightOut: [1, 65_535],
  maxQueuedMessages: [1, Number.MAX_SAFE_INTEGER],
  maxQueuedBytes: [1, Number.MAX_SAFE_INTEGER],
  maxKeepAlive: [0, 65_535],
  maxSessionExpiryInterval: [0, 0xffffffff],
  v3SessionExpiryInterval: [0, 0xffffffff],
  topicAliasMaximum: [0, 65_535],
  connectTimeoutMs: [1, Number.MAX_SAFE_INTEGER],
  maxWriteBuffer: [0, Number.MAX_SAFE_INTEGER],
  maxRetainedMessages: [0, Number.MAX_SAFE_INTEGER],
};

/** Throws a RangeError naming the first option that is not a valid runtime value; unknown keys are refused too. */
export function checkRuntimeOptions(partial: Partial<RuntimeOptions>): void {
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    if (key === "queueOverflow") {
      if (value !== "drop-new" && value !== "drop-oldest") throw new RangeError(`queueOverflow: "drop-new" or "drop-oldest", not ${String(value)}`);
      continue;
    }
    if (key === "queueQos0Offline") {
      if (typeof value !== "boolean") throw new RangeError("queueQos0Offline: a boolean");
      continue;
    }
    const range = RUNTIME_RANGES[key as keyof typeof RUNTIME_RANGES];
    if (!range) throw new RangeError(`${key} cannot be changed while the broker runs`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      throw new RangeError(`${key}: an integer in ${range[0]}..${range[1]}, not ${String(value)}`);
    }
  }
}
