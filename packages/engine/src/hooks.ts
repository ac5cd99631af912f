import type { Message, QoS } from "./message.ts";

/** What the engine knows about a connected client; hooks receive it. */
export interface ClientInfo {
  /** Client identifier as the client sees it (after assignment). */
  readonly clientId: string;
  readonly username: string | undefined;
  readonly protocolVersion: 3 | 4 | 5;
  readonly remoteAddress: string | undefined;
  /**
   * Topic prefix this client lives under (a tenant's namespace), set by the
   * authenticate hook. Applied to every topic and filter the client sends and
   * removed from every topic it receives, so the router never sees tenants.
   */
  readonly mountPoint: string;
  /** Free-form data the authenticate hook attached (tenant id, roles, ...). */
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface AuthenticateRequest {
  clientId: string;
  /** True when the broker assigned the client id because the client sent none. */
  clientIdAssigned: boolean;
  username: string | undefined;
  password: Buffer | undefined;
  protocolVersion: 3 | 4 | 5;
  remoteAddress: string | undefined;
  /** Transport facts from the listener (TLS peer certificate, SNI host name, ...). */
  transport: Readonly<Record<string, unknown>>;
}

/** Limits for one client, tighter than the broker's (a tenant's quotas). */
export interface ClientLimits {
  /** Largest packet accepted from this client; advertised in its v5 CONNACK. */
  maxPacketSize?: number;
  /** Queue length of this client's session. */
  maxQueuedMessages?: number;
}

export type AuthenticateResult =
  | { ok: true; mountPoint?: string; attributes?: Record<string, unknown>; limits?: ClientLimits }
  | { ok: false; reasonCode: number; reasonString?: string };

export type MaybePromise<T> = T | Promise<T>;

/**
 * Extension points, named as in Aedes. Each may answer synchronously (the fast
 * path: no promise, no extra tick) or with a promise; the channel keeps packet
 * order either way. Topics passed to authorize hooks are as the CLIENT wrote
 * them (unmounted), so ACL rules are written in the tenant's own namespace.
 */
export interface BrokerHooks {
  authenticate(req: AuthenticateRequest): MaybePromise<AuthenticateResult>;
  /**
   * Returns 0 to allow, or a v5 reason code for the PUBACK/PUBREC (e.g. 0x87
   * Not authorized, 0x97 Quota exceeded). 0x96 Message rate too high is not a
   * PUBACK code: the client is disconnected with it.
   */
  authorizePublish(client: ClientInfo, topic: string, qos: QoS, retain: boolean, payloadLength: number): MaybePromise<number>;
  /** Returns the granted QoS (0..2, may downgrade), or a failure reason code >= 0x80. */
  authorizeSubscribe(client: ClientInfo, filter: string, qos: QoS): MaybePromise<number>;
  /**
   * Decides, per message, whether a routed message may reach this subscriber
   * (a deny rule that only partly overlaps a granted subscription, or a
   * permission revoked since SUBSCRIBE). Topic as the client sees it. Runs on
   * the delivery hot path: answer synchronously and cheaply.
   */
  authorizeDeliver?(client: ClientInfo, topic: string): boolean;
  onClientConnected?(client: ClientInfo): void;
  /** After a connection closed; reasonCode is the server's DISCONNECT reason, or 0 when the client or network closed it. */
  onClientDisconnected?(client: ClientInfo, reasonCode: number): void;
  /** A message accepted from a client (or a will) and about to be routed; topic is the routed (mounted) one. */
  onMessagePublished?(client: ClientInfo | undefined, message: Message): void;
  /** A PUBLISH written to a subscriber. */
  onMessageDelivered?(client: ClientInfo, message: Message): void;
  /** A message dropped: queue full, expired, too large for the client, slow consumer. */
  onMessageDropped?(clientId: string, message: Message, reason: DropReason): void;
}

export type DropReason =
  | "queue-full"
  | "expired"
  | "too-large"
  | "slow-consumer"
  | "qos0-offline"
  | "no-subscribers"
  | "store-full"
  | "not-authorized";

export const allowAllHooks: BrokerHooks = {
  authenticate: () => ({ ok: true }),
  authorizePublish: () => 0,
  authorizeSubscribe: (_client, _filter, qos) => qos,
};
