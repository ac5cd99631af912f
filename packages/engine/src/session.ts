import { Deque } from "./deque.ts";
import type { Message, QoS } from "./message.ts";

/** A client's subscription to one filter [MQTT-3.8.3]. */
export interface Subscription {
  readonly shared: false;
  readonly session: Session;
  /** Filter as routed (mounted, without a $share prefix). */
  readonly filter: string;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId: number | undefined;
  /** For shared subscriptions: the share group name. */
  group: string | undefined;
}

/** One message on its way to one session, with the per-subscriber choices made. */
export interface Delivery {
  readonly message: Message;
  readonly qos: QoS;
  /** RETAIN flag to send: true for retained-on-subscribe, RAP, else false [MQTT-3.3.1-9]. */
  readonly retain: boolean;
  readonly subscriptionIds: number[] | undefined;
  /** Key of its record in the SessionStore; 0 when not persisted. */
  seq?: number;
}

/** QoS 1/2 delivery awaiting its acknowledgement [MQTT-4.4.0-1]. */
export interface InflightDelivery {
  readonly packetId: number;
  readonly delivery: Delivery;
  /** QoS 2: PUBREC received, PUBREL sent, awaiting PUBCOMP. */
  released: boolean;
}

/**
 * Sends Deliveries to a connected client. Implemented by the Channel; the
 * session only knows it is online when one is attached.
 */
export interface SessionOwner {
  /** Writes a delivery; returns false if the connection is too backed-up to take it. */
  writeDelivery(delivery: Delivery, packetId: number, dup: boolean): boolean;
  writePubrel(packetId: number): void;
  /** Client's Receive Maximum combined with the server cap. */
  readonly sendWindow: number;
}

const MAX_PACKET_ID = 0xffff;

const DOLLAR = 0x24;
const PLUS = 0x2b;
const HASH = 0x23;

/**
 * [MQTT-4.7.2-1] as the client sees it: a filter starting with a wildcard
 * does not match a topic starting with `$`. For a mounted client both start
 * after the mount point, where the router's own check (at the first level of
 * the routed topic) cannot see them; this applies the rule there.
 */
export function hidesDollarTopic(mountLength: number, filter: string, topic: string): boolean {
  if (mountLength === 0 || topic.charCodeAt(mountLength) !== DOLLAR) return false;
  const first = filter.charCodeAt(mountLength);
  return first === PLUS || first === HASH;
}

/**
 * Server-side session state [MQTT-4.1]: subscriptions, QoS 1/2 deliveries in
 * flight, queued deliveries and incoming QoS 2 packet ids. Exists across
 * connections when the session expiry interval is non-zero.
 */
export class Session {
  readonly key: string;
  readonly subscriptions = new Map<string, Subscription>();
  /** Ordered by packet id assignment, which is also retransmission order [MQTT-4.6.0-1]. */
  readonly inflight = new Map<number, InflightDelivery>();
  /**
   * In-flight PUBLISHes not yet re-sent on the current connection because the
   * client's Receive Maximum was reached at resume [MQTT-3.3.4-7]; re-sent, in
   * order and under their ids, as acknowledgements free the window.
   */
  readonly heldResends: InflightDelivery[] = [];
  readonly queue = new Deque<Delivery>();
  queuedBytes = 0;
  /** QoS 2 packet ids received and PUBREC'd, awaiting PUBREL [MQTT-4.3.3-9]. */
  readonly incomingQos2 = new Set<number>();
  /** Seconds; 0 ends the session with the connection, 0xFFFFFFFF never. */
  expiryInterval = 0;
  /** Queue length limit of this session when tighter than the broker's (tenant quota). */
  maxQueued: number | undefined = undefined;
  /** Whether the session has records in the SessionStore (it was persistent at some point). */
  persisted = false;
  owner: SessionOwner | undefined;
  /** Timer that ends an offline session [MQTT-3.1.2-23]. */
  expiryTimer: NodeJS.Timeout | undefined;
  private nextPacketId = 1;
  /** Scratch fields for the router's per-publish aggregation; see Router#publish. */
  matchStamp = 0;
  matchQos: QoS = 0;
  matchRetain = false;
  matchIds: number[] | undefined = undefined;
  matchNoLocalOnly = false;

  /** Length of the mount point the session's topics live under ("" -> 0); see hidesDollarTopic. */
  readonly mountLength: number;

  constructor(key: string) {
    this.key = key;
    const sep = key.indexOf("\u0000");
    this.mountLength = sep > 0 ? sep : 0;
  }

  /** After recovery, continue numbering past ids already in flight. */
  reservePacketId(id: number): void {
    this.nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
  }

  /** Returns a packet id not in use by an in-flight delivery [MQTT-2.2.1-3], or 0 if all are. */
  allocatePacketId(): number {
    if (this.inflight.size >= MAX_PACKET_ID) return 0;
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === MAX_PACKET_ID ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }
}
