import { createHash } from "node:crypto";
import type { CompiledAcl } from "@halyard/acl";
import { ReasonCode, parseSharedFilter, type AuthenticateRequest, type AuthenticateResult, type Broker, type BrokerHooks, type ClientInfo, type Message, type QoS } from "@halyard/engine";
import { decodeJwt } from "jose";
import type { Logger } from "pino";
import { IdentityProviderUnavailableError, type OidcVerifier } from "../../modules/auth/oidc-verifier.ts";
import type { ChangeEvent } from "../../modules/database/database.service.ts";
import { looksLikeJwt, splitUsername, tenantFromSni, type TenantHint } from "./identity.ts";
import type { ConnectionEventListener } from "./connection-events.ts";
import { ExpirySchedule } from "./expiry-schedule.ts";
import type { TenantDirectory, TenantEntry } from "./tenant-directory.ts";
import { RateBucket, TenantStats } from "./tenant-stats.ts";

export type AnonymousPolicy = "off" | "local" | "on";

export interface TenancyOptions {
  /** Separator of `<username><sep><tenant>` usernames. */
  usernameSeparator: string;
  /** Domain of SNI host names `<tenant>.<domain>`; unset disables SNI resolution. */
  sniDomain: string | undefined;
  /**
   * Clients that present no credentials: refused ("off"), admitted from
   * loopback addresses only ("local", the default, so the quick start works
   * on the machine itself), or admitted from anywhere ("on"). They live in
   * their own namespace `_anonymous/` and can never see a tenant's topics.
   */
  anonymous: AnonymousPolicy;
  /** Failed authentications per source address or username per minute before refusing outright. */
  maxAuthFailuresPerMinute: number;
}

export const ANONYMOUS_MOUNT = "_anonymous/";

/** What the broker remembers about an authenticated device, in ClientInfo.attributes. */
export interface DeviceAttributes {
  tenantId: string;
  slug: string;
  deviceId: string;
  clientId: string;
  /**
   * `${username}` in topic rules: the credential's username, or the client id
   * when a certificate or token authenticated the device (a username the
   * client merely sent alongside proves nothing).
   */
  username: string;
  credentialId: string | undefined;
  /** Which password of the credential it logged in with (see secretVersion): a rotation changes it. */
  credentialVersion?: string;
  certificateFingerprint: string | undefined;
  /** Replaced when the device's roles change (see revalidate). */
  acl: CompiledAcl;
  /**
   * Check every delivery against `acl`, not only when it has subscribe
   * denies: set when the resumed session held subscriptions the device may no
   * longer make, so messages queued for them are not sent either.
   */
  recheckDeliveries?: boolean;
  /** The connection-quota slot taken at CONNECT (see reserveConnection). */
  reservation?: number;
  /**
   * When what the device logged in with stops being valid (ms since the epoch): the
   * credential's expiresAt, the token's exp or the certificate's notAfter. The
   * connection is closed then (see onExpired); unset when it never expires.
   */
  expiresAt?: number;
  /** What expires at expiresAt. */
  expiring?: ExpiringKind;
}

export type ExpiringKind = "credential" | "token" | "certificate";

type Refusal = { ok: false; reasonCode: number; reasonString?: string };
const refuse = (reasonCode: number, reasonString?: string): Refusal => ({ ok: false, reasonCode, ...(reasonString ? { reasonString } : {}) });

/** Server DISCONNECT reasons that are the client's doing, as per-tenant denial reasons. */
const CLOSE_REFUSALS: Record<number, string> = {
  [ReasonCode.PacketTooLarge]: "packet-too-large",
  [ReasonCode.MessageRateTooHigh]: "message-rate",
  [ReasonCode.MalformedPacket]: "malformed",
  [ReasonCode.ProtocolError]: "protocol-error",
  [ReasonCode.ReceiveMaximumExceeded]: "receive-maximum",
  [ReasonCode.TopicAliasInvalid]: "topic-alias",
  [ReasonCode.KeepAliveTimeout]: "keep-alive-timeout",
};

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
/** How long a connection-quota slot taken at CONNECT is held for a CONNACK that never comes. */
const RESERVATION_MS = 10_000;
/** How long failed attempts count against a source or username. */
const FAILURE_WINDOW_MS = 60_000;

/** Identifies a credential's current password without keeping its hash in client attributes. */
function secretVersion(passwordHash: string): string {
  return createHash("sha256").update(passwordHash).digest("base64url").slice(0, 22);
}

/** A verified token's `exp` in ms (the verifier requires the claim). */
function tokenExpiry(jwt: string): number | undefined {
  const exp = decodeJwt(jwt).exp;
  return typeof exp === "number" ? exp * 1000 : undefined;
}

/** notAfter is the last valid instant (RFC 5280 §4.1.2.5): the certificate is expired one millisecond later. */
function certificateExpiry(notAfter: Date): number {
  return notAfter.getTime() + 1;
}

const EXPIRED_REASON: Record<ExpiringKind, string> = {
  credential: "credential expired",
  token: "token expired",
  certificate: "certificate expired",
};

function device(client: ClientInfo): DeviceAttributes | undefined {
  return client.attributes.tenantId ? (client.attributes as unknown as DeviceAttributes) : undefined;
}

/**
 * The broker's multi-tenant policy, plugged into the engine's hooks:
 * tenant resolution and device authentication at CONNECT, topic permissions
 * on PUBLISH, SUBSCRIBE and delivery, tenant quotas, per-tenant counters, and
 * live reaction to control-plane changes.
 */
export class TenantHooks implements BrokerHooks {
  readonly stats = new TenantStats();
  private broker: Broker | undefined;
  private readonly buckets = new Map<string, { messages?: RateBucket; bytes?: RateBucket }>();
  private readonly failures = new Map<string, number[]>();
  /** Connects, disconnects and refused logins of tenants' devices (the monitoring module's connection log). */
  onConnectionEvent: ConnectionEventListener | undefined;

  constructor(
    private readonly directory: TenantDirectory,
    private readonly options: TenancyOptions,
    private readonly tokens: OidcVerifier | undefined,
    private readonly logger: Logger,
  ) {}

  attach(broker: Broker): void {
    this.broker = broker;
  }

  // ---- CONNECT -----------------------------------------------------------------------

  async authenticate(req: AuthenticateRequest): Promise<AuthenticateResult> {
    const keys = [`addr:${req.remoteAddress ?? "?"}`, ...(req.username !== undefined ? [`user:${req.username}`] : [])];
    if (keys.some((k) => this.tooManyFailures(k))) return refuse(ReasonCode.ConnectionRateExceeded, "too many failed attempts");
    try {
      const resolved: { slug?: string } = {};
      const result = await this.resolve(req, resolved);
      if (!result.ok) {
        this.fail(keys, result.reasonCode, resolved.slug);
        if (resolved.slug) {
          this.onConnectionEvent?.({
            type: "auth_failed",
            slug: resolved.slug,
            at: Date.now(),
            clientId: req.clientId,
            username: req.username,
            address: req.remoteAddress,
            reasonCode: result.reasonCode,
            reasonString: result.reasonString,
          });
        }
      }
      return result;
    } catch (err) {
      this.logger.error({ err, clientId: req.clientId }, "authentication failed unexpectedly");
      return refuse(ReasonCode.ServerUnavailable);
    }
  }

  /** `resolved.slug` is set once the client's tenant is known to exist, so failures are counted against it. */
  private async resolve(req: AuthenticateRequest, resolved: { slug?: string }): Promise<AuthenticateResult> {
    const hints: TenantHint[] = [];
    const transport = req.transport as { peerCertificate?: Buffer; authorized?: boolean; servername?: string };
    let cert: Awaited<ReturnType<TenantDirectory["certificate"]>> | undefined;
    let fingerprint: string | undefined;
    // A device certificate is recognised by its exact fingerprint among the certificates the
    // platform issued; the TLS handshake (CertificateVerify) already proved the client holds its
    // key. Chain validation is deliberately not required: tenant CAs are kept out of the
    // listener's trust list, which would otherwise name every tenant to anyone who connects.
    if (transport.peerCertificate) {
      fingerprint = createHash("sha256").update(transport.peerCertificate).digest("hex");
      cert = await this.directory.certificate(fingerprint);
      if (cert) hints.push({ slug: cert.tenant.slug, source: "certificate" });
    }
    const sni = tenantFromSni(transport.servername, this.options.sniDomain);
    if (sni) hints.push({ slug: sni, source: "sni" });
    const split = splitUsername(req.username, this.options.usernameSeparator);
    if (split) hints.push({ slug: split.slug, source: "username" });
    const jwt = looksLikeJwt(req.password);
    let tokenTenant: string | undefined;
    /** The OAuth2 client the token was issued to (`azp`); it must be the device itself. */
    let tokenClient: string | undefined;
    // A password shaped like a JWT that does not verify may still be a plain password (`a.b.c`);
    // this is the answer when it is not one either.
    let tokenRefusal: Refusal | undefined;
    /** The verified token's `exp` in ms: the end of a session it opens. */
    let tokenExpiresAt: number | undefined;
    if (jwt && this.tokens) {
      try {
        const principal = await this.tokens.verify(jwt);
        tokenTenant = principal.tenantClaim;
        tokenClient = principal.clientId;
        tokenExpiresAt = tokenExpiry(jwt);
        if (tokenTenant) hints.push({ slug: tokenTenant, source: "token" });
      } catch (err) {
        tokenRefusal =
          err instanceof IdentityProviderUnavailableError
            ? refuse(ReasonCode.ServerUnavailable, "identity provider unavailable")
            : refuse(ReasonCode.BadUserNameOrPassword, "token rejected");
      }
    }

    if (hints.length === 0) {
      if (tokenRefusal) return tokenRefusal;
      // A certificate that verified against no trusted CA, or names no device, is refused
      // rather than ignored: its client meant to authenticate, not to be anonymous.
      if (transport.peerCertificate) return refuse(ReasonCode.NotAuthorized, "client certificate not accepted");
      return this.anonymous(req);
    }
    const slug = (hints[0] as TenantHint).slug;
    if (hints.some((h) => h.slug !== slug)) return refuse(ReasonCode.NotAuthorized, "the client names more than one tenant");
    const tenant = await this.directory.tenant(slug);
    if (!tenant) return tokenRefusal ?? refuse(ReasonCode.BadUserNameOrPassword);
    resolved.slug = slug;
    if (!tenant.active) return refuse(ReasonCode.NotAuthorized, "tenant suspended");
    this.quotaCache.set(slug, tenant);
    // With the tenant named by SNI (or a certificate), the username is the credential's as it stands.
    const login = split ? split.username : req.username;

    let dev: { deviceId: string; clientId: string; username: string; credentialId?: string; credentialVersion?: string; expiresAt?: number | undefined } | undefined;
    let expiring: ExpiringKind | undefined;
    if (cert) {
      const now = Date.now();
      if (cert.revokedAt || cert.authority.revokedAt) return refuse(ReasonCode.NotAuthorized, "certificate revoked");
      if (cert.notBefore.getTime() > now || cert.notAfter.getTime() < now) return refuse(ReasonCode.NotAuthorized, "certificate not valid now");
      if (!cert.device.enabled) return refuse(ReasonCode.NotAuthorized, "device disabled");
      dev = { deviceId: cert.device.id, clientId: cert.device.clientId, username: cert.device.clientId, expiresAt: certificateExpiry(cert.notAfter) };
      expiring = "certificate";
    } else if (tokenTenant) {
      // One OAuth2 client per device: a token admits only the device whose client id is the
      // token's client, not any device of the tenant.
      if (tokenClient !== req.clientId) return refuse(ReasonCode.NotAuthorized, "the token was not issued to this device");
      // The verifier allows clock skew past exp; a session opened now would be closed at once.
      if (tokenExpiresAt !== undefined && tokenExpiresAt <= Date.now()) return refuse(ReasonCode.BadUserNameOrPassword, "token expired");
      const d = await this.directory.device(tenant.id, req.clientId);
      if (!d || !d.enabled) return refuse(ReasonCode.NotAuthorized, "no such device");
      dev = { deviceId: d.id, clientId: d.clientId, username: d.clientId, expiresAt: tokenExpiresAt };
      expiring = "token";
    } else if (login && req.password) {
      const entry = await this.directory.credential(tenant.id, login);
      const refused = tokenRefusal ?? refuse(ReasonCode.BadUserNameOrPassword);
      if (!entry || !entry.usable || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) return refused;
      if (!(await this.directory.checkPassword(entry, req.password))) return refused;
      dev = { deviceId: entry.deviceId, clientId: entry.clientId, username: login, credentialId: entry.credentialId, credentialVersion: secretVersion(entry.passwordHash), expiresAt: entry.expiresAt };
      expiring = "credential";
    } else {
      return tokenRefusal ?? refuse(ReasonCode.BadUserNameOrPassword);
    }

    // A credential or certificate is a device's: it cannot connect as another client id.
    if (!req.clientIdAssigned && req.clientId !== dev.clientId) return refuse(ReasonCode.ClientIdentifierNotValid, "client id does not match the device");
    if (req.clientIdAssigned) return refuse(ReasonCode.ClientIdentifierNotValid, "devices must send their client id");

    const acl = await this.directory.acl(tenant.id, dev.deviceId, dev.clientId, dev.username);
    // Checked and reserved with no await before the answer, so simultaneous CONNECTs cannot all pass.
    // A device replacing its own live connection (takeover) takes no new slot.
    const counters = this.stats.of(slug);
    const sessionKey = `${slug}/\u0000${dev.clientId}`;
    let reservation: number | undefined;
    if (tenant.quotas.maxConnections !== null && !this.broker?.connected.has(sessionKey)) {
      if (counters.connections + this.reservedConnections(slug) >= tenant.quotas.maxConnections) {
        counters.deny("quota-connections");
        return refuse(ReasonCode.QuotaExceeded, "tenant connection quota reached");
      }
      reservation = this.reserveConnection(slug);
    }
    const recheckDeliveries = this.dropForbiddenSubscriptions(sessionKey, slug, acl);
    const attributes: DeviceAttributes = {
      tenantId: tenant.id,
      slug,
      deviceId: dev.deviceId,
      clientId: dev.clientId,
      username: dev.username,
      credentialId: dev.credentialId,
      ...(dev.credentialVersion ? { credentialVersion: dev.credentialVersion } : {}),
      certificateFingerprint: cert ? fingerprint : undefined,
      acl,
      ...(recheckDeliveries ? { recheckDeliveries } : {}),
      ...(reservation !== undefined ? { reservation } : {}),
      ...(dev.expiresAt !== undefined && expiring ? { expiresAt: dev.expiresAt, expiring } : {}),
    };
    return {
      ok: true,
      mountPoint: slug + "/",
      attributes: attributes as unknown as Record<string, unknown>,
      limits: {
        ...(tenant.quotas.maxPacketSize !== null ? { maxPacketSize: tenant.quotas.maxPacketSize } : {}),
        ...(tenant.quotas.maxQueuedMessages !== null ? { maxQueuedMessages: tenant.quotas.maxQueuedMessages } : {}),
      },
    };
  }

  private anonymous(req: AuthenticateRequest): AuthenticateResult {
    const policy = this.options.anonymous;
    if (req.username !== undefined || req.password !== undefined) return refuse(ReasonCode.BadUserNameOrPassword);
    if (policy === "on" || (policy === "local" && LOOPBACK.test(req.remoteAddress ?? ""))) {
      return { ok: true, mountPoint: ANONYMOUS_MOUNT, attributes: { anonymous: true } };
    }
    return refuse(ReasonCode.NotAuthorized, "anonymous clients are not allowed");
  }

  private tooManyFailures(key: string): boolean {
    const now = Date.now();
    const list = this.failures.get(key);
    if (!list) return false;
    while (list.length > 0 && (list[0] as number) < now - FAILURE_WINDOW_MS) list.shift();
    if (list.length === 0) this.failures.delete(key);
    return list.length >= this.options.maxAuthFailuresPerMinute;
  }

  private lastSweep = 0;

  /**
   * Counts a failure against the source address and the username. Our own
   * trouble (store or identity provider down) is not the client's failure.
   * Only a tenant that exists gets a counter: names made up by a client must
   * not grow the per-tenant stats.
   */
  private fail(keys: string[], reasonCode: number, slug: string | undefined): void {
    // Nor is a tenant's quota: one tenant at its limit must not get another tenant's devices refused.
    if (reasonCode === ReasonCode.ConnectionRateExceeded || reasonCode === ReasonCode.ServerUnavailable || reasonCode === ReasonCode.QuotaExceeded) return;
    const now = Date.now();
    for (const key of keys) {
      const list = this.failures.get(key) ?? [];
      list.push(now);
      this.failures.set(key, list);
    }
    if (slug) this.stats.of(slug).authFailures++;
    // Keys are pruned when looked at again; ones never seen again go here, at most once a window.
    if (now - this.lastSweep > FAILURE_WINDOW_MS) {
      this.lastSweep = now;
      for (const [key, list] of this.failures) if ((list[list.length - 1] ?? 0) < now - FAILURE_WINDOW_MS) this.failures.delete(key);
    }
  }

  // ---- authorization ---------------------------------------------------------------

  authorizePublish(client: ClientInfo, topic: string, _qos: QoS, retain: boolean, payloadLength: number): number {
    const dev = device(client);
    if (!dev) return ReasonCode.Success;
    const counters = this.stats.of(dev.slug);
    if (!dev.acl.publish(topic).allowed) {
      counters.deny("publish");
      return ReasonCode.NotAuthorized;
    }
    const tenant = this.tenantQuotas(dev.slug);
    if (tenant) {
      const now = Date.now();
      const b = this.bucketsFor(dev.slug, tenant, now);
      if (b.messages && !b.messages.take(1, now)) {
        counters.drop("quota-message-rate");
        return ReasonCode.QuotaExceeded;
      }
      if (b.bytes && !b.bytes.take(payloadLength, now)) {
        counters.drop("quota-byte-rate");
        return ReasonCode.QuotaExceeded;
      }
      if (retain && payloadLength > 0 && tenant.quotas.maxRetainedMessages !== null && this.broker) {
        const mounted = client.mountPoint + topic;
        // The broker's own $SYS topics under the tenant's mount are not the tenant's messages.
        const sys = client.mountPoint + "$";
        const held = () => this.broker!.retained.match(client.mountPoint + "#").filter((m) => !m.topic.startsWith(sys)).length;
        if (!this.broker.retained.get(mounted) && held() >= tenant.quotas.maxRetainedMessages) {
          counters.drop("quota-retained");
          return ReasonCode.QuotaExceeded;
        }
      }
    }
    return ReasonCode.Success;
  }

  authorizeSubscribe(client: ClientInfo, filter: string, qos: QoS): number {
    const dev = device(client);
    if (!dev) return qos;
    const counters = this.stats.of(dev.slug);
    const shared = parseSharedFilter(filter);
    const inner = shared && shared !== "invalid" ? shared.filter : filter;
    if (!dev.acl.subscribe(inner).allowed) {
      counters.deny("subscribe");
      return ReasonCode.NotAuthorized;
    }
    const tenant = this.tenantQuotas(dev.slug);
    const max = tenant?.quotas.maxSubscriptionsPerClient;
    if (max !== null && max !== undefined && this.broker) {
      const session = this.broker.sessions.get(`${client.mountPoint}\u0000${client.clientId}`);
      // The id the session keeps it under (Broker#subscribe): replacing a subscription is not a new one.
      const id = shared && shared !== "invalid" ? `$share/${shared.group}/${client.mountPoint}${shared.filter}` : client.mountPoint + filter;
      if (!session?.subscriptions.has(id)) {
        // Every filter of one SUBSCRIBE is authorized before any is added: count those granted so far too.
        const batch = this.subscribeBatch(client);
        let pending = 0;
        for (const k of batch) if (!session?.subscriptions.has(k)) pending++;
        if ((session?.subscriptions.size ?? 0) + pending >= max) {
          counters.deny("quota-subscriptions");
          return ReasonCode.QuotaExceeded;
        }
        batch.add(id);
      }
    }
    return qos;
  }

  /** New subscriptions granted to a client in the SUBSCRIBE being authorized right now. */
  private readonly batches = new WeakMap<ClientInfo, Set<string>>();
  private subscribeBatch(client: ClientInfo): Set<string> {
    let batch = this.batches.get(client);
    if (!batch) {
      const created = new Set<string>();
      batch = created;
      this.batches.set(client, created);
      // The engine authorizes a SUBSCRIBE's filters synchronously, then adds them: done by the next microtask.
      queueMicrotask(() => {
        if (this.batches.get(client) === created) this.batches.delete(client);
      });
    }
    return batch;
  }

  authorizeDeliver(client: ClientInfo, topic: string): boolean {
    const dev = device(client);
    if (!dev || !(dev.acl.hasSubscribeDenies || dev.recheckDeliveries)) return true;
    if (dev.acl.deliver(topic).allowed) return true;
    this.stats.of(dev.slug).deny("deliver");
    return false;
  }

  /** Quotas are read from the directory's cache; a miss (rare: evicted by a change) allows and refreshes. */
  private readonly quotaCache = new Map<string, TenantEntry>();
  private tenantQuotas(slug: string): TenantEntry | undefined {
    const cached = this.quotaCache.get(slug);
    if (!cached) void this.directory.tenant(slug).then((t) => t && this.quotaCache.set(slug, t));
    return cached;
  }

  private bucketsFor(slug: string, tenant: TenantEntry, now: number) {
    let b = this.buckets.get(slug);
    if (!b) {
      b = {
        ...(tenant.quotas.maxMessagesPerSecond !== null ? { messages: new RateBucket(tenant.quotas.maxMessagesPerSecond, now) } : {}),
        ...(tenant.quotas.maxBytesPerSecond !== null ? { bytes: new RateBucket(tenant.quotas.maxBytesPerSecond, now) } : {}),
      };
      this.buckets.set(slug, b);
    }
    return b;
  }

  // ---- events and counters -------------------------------------------------------------

  onClientConnected(client: ClientInfo): void {
    const dev = device(client);
    if (!dev) return;
    this.stats.of(dev.slug).connections++;
    if (dev.reservation !== undefined) this.reservations.get(dev.slug)?.delete(dev.reservation);
    this.scheduleExpiry(client, dev);
    this.onConnectionEvent?.({ type: "connected", slug: dev.slug, at: Date.now(), clientId: client.clientId, username: client.username, address: client.remoteAddress, reasonCode: 0, client });
  }

  /** Connection-quota slots taken by CONNECTs authenticated but not yet connected: token -> deadline. */
  private readonly reservations = new Map<string, Map<number, number>>();
  private nextReservation = 0;

  private reservedConnections(slug: string): number {
    const slots = this.reservations.get(slug);
    if (!slots) return 0;
    const now = Date.now();
    for (const [token, deadline] of slots) if (deadline <= now) slots.delete(token);
    if (slots.size === 0) this.reservations.delete(slug);
    return slots.size;
  }

  private reserveConnection(slug: string): number {
    const token = ++this.nextReservation;
    let slots = this.reservations.get(slug);
    if (!slots) this.reservations.set(slug, (slots = new Map()));
    slots.set(token, Date.now() + RESERVATION_MS);
    return token;
  }

  /**
   * Subscriptions a resumed session holds that the device's permissions no
   * longer allow (changed while it was offline, or the reason it was
   * disconnected with 0x87) are removed before the session is resumed.
   * Returns whether any were, so deliveries already queued for them are
   * checked too.
   */
  private dropForbiddenSubscriptions(sessionKey: string, slug: string, acl: CompiledAcl): boolean {
    const broker = this.broker;
    const session = broker?.sessions.get(sessionKey);
    if (!broker || !session) return false;
    let dropped = false;
    for (const [id, sub] of [...session.subscriptions]) {
      if (acl.subscribe(sub.filter.slice(slug.length + 1)).allowed) continue;
      broker.unsubscribe(session, id);
      dropped = true;
    }
    return dropped;
  }

  onClientDisconnected(client: ClientInfo, reasonCode: number): void {
    const dev = device(client);
    if (!dev) return;
    const counters = this.stats.of(dev.slug);
    counters.connections--;
    this.expiries.delete(client);
    // Connections the broker closed for what the client sent count as refusals of the tenant.
    const refusal = CLOSE_REFUSALS[reasonCode];
    if (refusal) counters.deny(refusal);
    const reasonString = this.expiredReasons.get(client);
    this.onConnectionEvent?.({
      type: "disconnected",
      slug: dev.slug,
      at: Date.now(),
      clientId: client.clientId,
      username: client.username,
      address: client.remoteAddress,
      reasonCode,
      ...(reasonString ? { reasonString } : {}),
      client,
    });
  }

  onMessagePublished(client: ClientInfo | undefined, message: Message): void {
    const dev = client && device(client);
    if (!dev) return;
    const c = this.stats.of(dev.slug);
    c.messagesIn++;
    c.bytesIn += message.payload.length;
    c.countTopic(message.topic, message.payload.length);
  }

  onMessageDelivered(client: ClientInfo, message: Message): void {
    const dev = device(client);
    if (!dev) return;
    const c = this.stats.of(dev.slug);
    c.messagesOut++;
    c.bytesOut += message.payload.length;
  }

  onMessageDropped(sessionKey: string, _message: Message, reason: string): void {
    const sep = sessionKey.indexOf("\u0000");
    if (sep <= 0) return;
    const mount = sessionKey.slice(0, sep);
    if (mount === ANONYMOUS_MOUNT) return;
    this.stats.of(mount.slice(0, -1)).drop(reason);
  }

  // ---- expiry of what a connection logged in with --------------------------------------

  /** Connected devices whose login expires, by deadline: one timer for all of them. */
  private readonly expiries = new ExpirySchedule<ClientInfo>((client) => void this.onExpired(client));
  /** Why the broker closed a connection whose login expired, for its `disconnected` event. */
  private readonly expiredReasons = new WeakMap<ClientInfo, string>();

  /** Arms (or moves, or clears) the connection's expiry from its attributes. */
  private scheduleExpiry(client: ClientInfo, dev: DeviceAttributes): void {
    if (dev.expiresAt === undefined) this.expiries.delete(client);
    else this.expiries.set(client, dev.expiresAt);
  }

  /**
   * A connected device's credential, token or certificate reached its expiry.
   * It is disconnected with 0x87 Not authorized: nobody acted (0x98
   * Administrative action stays the answer to an operator's revoke, rotate,
   * disable or expire-now), the client's authorization simply lapsed, and
   * 0x87 tells it to come back with a new credential rather than retry the old
   * one. A credential is looked up once more first, so an expiry extended
   * through the API a moment ago (its change event still on the way) extends
   * the session instead of ending it.
   */
  private async onExpired(client: ClientInfo): Promise<void> {
    const dev = device(client);
    const scheduled = dev?.expiresAt;
    if (!dev || scheduled === undefined) return;
    if (dev.expiring === "credential") {
      try {
        const entry = await this.directory.credential(dev.tenantId, dev.username);
        if (entry && entry.credentialId === dev.credentialId && entry.usable && (entry.expiresAt === undefined || entry.expiresAt > Date.now())) {
          dev.expiresAt = entry.expiresAt;
          if (this.channelOf(client)) this.scheduleExpiry(client, dev);
          return;
        }
      } catch (err) {
        // The store is unreachable: the expiry it last reported stands.
        this.logger.warn({ err, tenant: dev.slug, clientId: client.clientId }, "credential expiry: re-check failed; disconnecting as scheduled");
      }
    }
    const channel = this.channelOf(client);
    if (!channel) return;
    const reason = EXPIRED_REASON[dev.expiring ?? "credential"];
    this.expiredReasons.set(client, reason);
    this.logger.info({ tenant: dev.slug, clientId: client.clientId, expiredAt: new Date(scheduled).toISOString() }, `${reason}: client disconnected`);
    channel.disconnect(ReasonCode.NotAuthorized, reason);
  }

  /** The live connection of this very client (not one that took its client id over since). */
  private channelOf(client: ClientInfo) {
    const channel = this.broker?.connected.get(`${client.mountPoint}\u0000${client.clientId}`);
    return channel?.client === client ? channel : undefined;
  }

  /** How many connections have an expiry scheduled (for tests and diagnostics). */
  get scheduledExpiries(): number {
    return this.expiries.size;
  }

  /** When the connection's login expires, as scheduled (ms since the epoch). */
  expiryOf(client: ClientInfo): number | undefined {
    return this.expiries.get(client);
  }

  // ---- live changes ----------------------------------------------------------------------

  /**
   * A control-plane change: drop what the directory cached, then re-check
   * every connected device it may concern. A device whose credential,
   * certificate or device record no longer admits it is disconnected with
   * 0x98 (Administrative action); one whose new permissions refuse a
   * subscription it holds is disconnected with 0x87, so it resubscribes and
   * learns the new answer in its SUBACK.
   */
  async onChange(event: ChangeEvent): Promise<void> {
    switch (event.kind) {
      case "tenant": {
        const slug = this.directory.slugOf(event.tenantId);
        this.directory.forgetTenant(undefined);
        this.quotaCache.clear();
        this.buckets.clear();
        if (await this.purgeIfDeleted(event.tenantId, slug)) return;
        break;
      }
      case "device":
        if (event.id) this.directory.forgetDevice(event.id);
        break;
      case "credential":
        this.directory.forgetCredential(event.id);
        break;
      case "certificate":
        break;
      case "acl":
        this.directory.forgetAcls();
        break;
    }
    const broker = this.broker;
    if (!broker) return;
    for (const channel of [...broker.clients()]) {
      const client = channel.client;
      const dev = client && device(client);
      if (!client || !dev || dev.tenantId !== event.tenantId) continue;
      if (event.kind === "device" && event.id && event.id !== dev.deviceId) continue;
      if (event.kind === "credential" && event.id && event.id !== dev.credentialId) continue;
      if (event.kind === "certificate" && !dev.certificateFingerprint) continue;
      const verdict = await this.revalidate(dev);
      if (verdict === "revoked") channel.disconnect(ReasonCode.AdministrativeAction, "access revoked");
      else if (verdict === "denied") channel.disconnect(ReasonCode.NotAuthorized, "permissions changed");
      // An expiry changed through the API (a later expiresAt extends the session, a sooner one shortens it).
      else if (this.channelOf(client)) this.scheduleExpiry(client, dev);
    }
  }

  /**
   * Topics are mounted under the slug, so a tenant deleted and created again
   * with the same slug would inherit the old one's sessions, queues, wills and
   * retained messages. When a tenant is gone, all of that goes too: its
   * devices are disconnected (0x98) without their wills, and its sessions and
   * retained messages are deleted. The slug comes from the directory; if this
   * process never looked the tenant up, every slug holding sessions is checked.
   */
  private async purgeIfDeleted(tenantId: string, known: string | undefined): Promise<boolean> {
    const broker = this.broker;
    if (!broker) return false;
    const candidates = known ? [known] : this.slugsWithSessions();
    let purged = false;
    for (const slug of candidates) {
      const tenant = await this.directory.tenant(slug);
      if (tenant && (known === undefined || tenant.id === tenantId)) continue;
      const mount = slug + "/";
      for (const channel of [...broker.clients()]) {
        if (channel.client?.mountPoint !== mount) continue;
        channel.will = undefined;
        if (channel.session) channel.session.expiryInterval = 0;
        channel.disconnect(ReasonCode.AdministrativeAction, "tenant deleted");
      }
      for (const session of [...broker.sessions.values()]) {
        if (!session.key.startsWith(mount + "\u0000") || session.owner) continue;
        broker.cancelWill(session.key);
        broker.endSession(session);
      }
      for (const message of broker.retained.match(mount + "#")) broker.retained.set(message.topic, null);
      this.logger.info({ slug, tenantId }, "tenant deleted: its sessions and retained messages were removed");
      // Forget the miss just cached: a tenant created again under this slug must be found at once.
      this.directory.forgetTenant(slug);
      purged = true;
    }
    return purged;
  }

  private slugsWithSessions(): string[] {
    const slugs = new Set<string>();
    for (const key of this.broker?.sessions.keys() ?? []) {
      const end = key.indexOf("/\u0000");
      if (end > 0 && key.slice(0, end + 1) !== ANONYMOUS_MOUNT) slugs.add(key.slice(0, end));
    }
    return [...slugs];
  }

  private async revalidate(dev: DeviceAttributes): Promise<"ok" | "revoked" | "denied"> {
    const tenant = await this.directory.tenant(dev.slug);
    if (!tenant || !tenant.active) return "revoked";
    if (dev.certificateFingerprint) {
      const cert = await this.directory.certificate(dev.certificateFingerprint);
      if (!cert || cert.revokedAt || cert.authority.revokedAt || !cert.device.enabled) return "revoked";
      dev.expiresAt = certificateExpiry(cert.notAfter);
    } else if (dev.credentialId) {
      const entry = await this.directory.credential(tenant.id, dev.username);
      // Expired (an expiry set in the past) or rotated (a new password) counts as revoked for a live connection too.
      if (!entry || entry.credentialId !== dev.credentialId || !entry.usable) return "revoked";
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) return "revoked";
      if (dev.credentialVersion !== undefined && secretVersion(entry.passwordHash) !== dev.credentialVersion) return "revoked";
      dev.expiresAt = entry.expiresAt;
      dev.expiring = "credential";
    } else {
      const d = await this.directory.device(tenant.id, dev.clientId);
      if (!d || !d.enabled) return "revoked";
    }
    dev.acl = await this.directory.acl(tenant.id, dev.deviceId, dev.clientId, dev.username);
    const session = this.broker?.sessions.get(`${dev.slug}/\u0000${dev.clientId}`);
    for (const sub of session?.subscriptions.values() ?? []) {
      const filter = sub.filter.slice(dev.slug.length + 1);
      if (!dev.acl.subscribe(filter).allowed) return "denied";
    }
    return "ok";
  }
}
