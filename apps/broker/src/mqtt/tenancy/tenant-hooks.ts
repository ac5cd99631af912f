import { createHash } from "node:crypto";
import type { CompiledAcl } from "@halyard/acl";
import { ReasonCode, parseSharedFilter, type AuthenticateRequest, type AuthenticateResult, type Broker, type BrokerHooks, type ClientInfo, type Message, type QoS } from "@halyard/engine";
import type { Logger } from "pino";
import type { OidcVerifier } from "../../modules/auth/oidc-verifier.ts";
import type { ChangeEvent } from "../../modules/database/database.service.ts";
import { looksLikeJwt, splitUsername, tenantFromSni, type TenantHint } from "./identity.ts";
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
  username: string;
  credentialId: string | undefined;
  certificateFingerprint: string | undefined;
  /** Replaced when the device's roles change (see revalidate). */
  acl: CompiledAcl;
}

type Refusal = { ok: false; reasonCode: number; reasonString?: string };
const refuse = (reasonCode: number, reasonString?: string): Refusal => ({ ok: false, reasonCode, ...(reasonString ? { reasonString } : {}) });

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

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
    const source = `addr:${req.remoteAddress ?? "?"}`;
    if (this.tooManyFailures(source)) return refuse(ReasonCode.ConnectionRateExceeded, "too many failed attempts");
    try {
      const result = await this.resolve(req);
      if (!result.ok) this.fail(source, req, result.reasonCode);
      return result;
    } catch (err) {
      this.logger.error({ err, clientId: req.clientId }, "authentication failed unexpectedly");
      return refuse(ReasonCode.ServerUnavailable);
    }
  }

  private async resolve(req: AuthenticateRequest): Promise<AuthenticateResult> {
    const hints: TenantHint[] = [];
    const transport = req.transport as { peerCertificate?: Buffer; authorized?: boolean; servername?: string };
    let cert: Awaited<ReturnType<TenantDirectory["certificate"]>> | undefined;
    let fingerprint: string | undefined;
    if (transport.peerCertificate && transport.authorized) {
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
    if (jwt && this.tokens) {
      try {
        const principal = await this.tokens.verify(jwt);
        tokenTenant = principal.tenantClaim;
        if (tokenTenant) hints.push({ slug: tokenTenant, source: "token" });
      } catch {
        return refuse(ReasonCode.BadUserNameOrPassword, "token rejected");
      }
    }

    if (hints.length === 0) return this.anonymous(req);
    const slug = (hints[0] as TenantHint).slug;
    if (hints.some((h) => h.slug !== slug)) return refuse(ReasonCode.NotAuthorized, "the client names more than one tenant");
    const tenant = await this.directory.tenant(slug);
    if (!tenant) return refuse(ReasonCode.BadUserNameOrPassword);
    if (!tenant.active) return refuse(ReasonCode.NotAuthorized, "tenant suspended");
    this.quotaCache.set(slug, tenant);

    let dev: { deviceId: string; clientId: string; username: string; credentialId?: string } | undefined;
    if (cert) {
      const now = Date.now();
      if (cert.revokedAt || cert.authority.revokedAt) return refuse(ReasonCode.NotAuthorized, "certificate revoked");
      if (cert.notBefore.getTime() > now || cert.notAfter.getTime() < now) return refuse(ReasonCode.NotAuthorized, "certificate not valid now");
      if (!cert.device.enabled) return refuse(ReasonCode.NotAuthorized, "device disabled");
      dev = { deviceId: cert.device.id, clientId: cert.device.clientId, username: req.username ?? cert.device.clientId };
    } else if (tokenTenant) {
      const d = await this.directory.device(tenant.id, req.clientId);
      if (!d || !d.enabled) return refuse(ReasonCode.NotAuthorized, "no such device");
      dev = { deviceId: d.id, clientId: d.clientId, username: req.username ?? d.clientId };
    } else if (split && req.password) {
      const entry = await this.directory.credential(tenant.id, split.username);
      if (!entry || !entry.usable || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) return refuse(ReasonCode.BadUserNameOrPassword);
      if (!(await this.directory.checkPassword(entry, req.password))) return refuse(ReasonCode.BadUserNameOrPassword);
      dev = { deviceId: entry.deviceId, clientId: entry.clientId, username: split.username, credentialId: entry.credentialId };
    } else {
      return refuse(ReasonCode.BadUserNameOrPassword);
    }

    // A credential or certificate is a device's: it cannot connect as another client id.
    if (!req.clientIdAssigned && req.clientId !== dev.clientId) return refuse(ReasonCode.ClientIdentifierNotValid, "client id does not match the device");
    if (req.clientIdAssigned) return refuse(ReasonCode.ClientIdentifierNotValid, "devices must send their client id");

    const counters = this.stats.of(slug);
    if (tenant.quotas.maxConnections !== null && counters.connections >= tenant.quotas.maxConnections) {
      counters.deny("quota-connections");
      return refuse(ReasonCode.QuotaExceeded, "tenant connection quota reached");
    }
    const acl = await this.directory.acl(tenant.id, dev.deviceId, dev.clientId, dev.username);
    const attributes: DeviceAttributes = {
      tenantId: tenant.id,
      slug,
      deviceId: dev.deviceId,
      clientId: dev.clientId,
      username: dev.username,
      credentialId: dev.credentialId,
      certificateFingerprint: cert ? fingerprint : undefined,
      acl,
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
    while (list.length > 0 && (list[0] as number) < now - 60_000) list.shift();
    if (list.length === 0) this.failures.delete(key);
    return list.length >= this.options.maxAuthFailuresPerMinute;
  }

  private fail(source: string, req: AuthenticateRequest, reasonCode: number): void {
    if (reasonCode === ReasonCode.ConnectionRateExceeded) return;
    const now = Date.now();
    for (const key of [source, `user:${req.username ?? ""}`]) {
      const list = this.failures.get(key) ?? [];
      list.push(now);
      this.failures.set(key, list);
    }
    const split = splitUsername(req.username, this.options.usernameSeparator);
    if (split) this.stats.of(split.slug).authFailures++;
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
        if (!this.broker.retained.get(mounted) && this.broker.retained.match(client.mountPoint + "#").length >= tenant.quotas.maxRetainedMessages) {
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
      if (session && session.subscriptions.size >= max && !session.subscriptions.has(client.mountPoint + filter)) {
        counters.deny("quota-subscriptions");
        return ReasonCode.QuotaExceeded;
      }
    }
    return qos;
  }

  authorizeDeliver(client: ClientInfo, topic: string): boolean {
    const dev = device(client);
    if (!dev || !dev.acl.hasSubscribeDenies) return true;
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
    if (dev) this.stats.of(dev.slug).connections++;
  }

  onClientDisconnected(client: ClientInfo): void {
    const dev = device(client);
    if (dev) this.stats.of(dev.slug).connections--;
  }

  onMessagePublished(client: ClientInfo | undefined, message: Message): void {
    const dev = client && device(client);
    if (!dev) return;
    const c = this.stats.of(dev.slug);
    c.messagesIn++;
    c.bytesIn += message.payload.length;
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
      case "tenant":
        this.directory.forgetTenant(undefined);
        this.quotaCache.clear();
        this.buckets.clear();
        break;
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
    }
  }

  private async revalidate(dev: DeviceAttributes): Promise<"ok" | "revoked" | "denied"> {
    const tenant = await this.directory.tenant(dev.slug);
    if (!tenant || !tenant.active) return "revoked";
    if (dev.certificateFingerprint) {
      const cert = await this.directory.certificate(dev.certificateFingerprint);
      if (!cert || cert.revokedAt || cert.authority.revokedAt || !cert.device.enabled) return "revoked";
    } else if (dev.credentialId) {
      const entry = await this.directory.credential(tenant.id, dev.username);
      if (!entry || entry.credentialId !== dev.credentialId || !entry.usable) return "revoked";
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
