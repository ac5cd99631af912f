import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CompiledAcl } from "@halyard/acl";
import { verifyPassword } from "../../modules/auth/secrets.ts";
import type { DatabaseService } from "../../modules/database/database.service.ts";
import { isTenantSlug } from "./identity.ts";
import type { TenantDirectoryRepository } from "./tenant-directory.repository.ts";

export interface TenantEntry {
  id: string;
  slug: string;
  active: boolean;
  quotas: {
    maxConnections: number | null;
    maxSubscriptionsPerClient: number | null;
    maxMessagesPerSecond: number | null;
    maxBytesPerSecond: number | null;
    maxRetainedMessages: number | null;
    maxQueuedMessages: number | null;
    maxPacketSize: number | null;
  };
}

export interface CredentialEntry {
  credentialId: string;
  deviceId: string;
  clientId: string;
  passwordHash: string;
  usable: boolean;
  expiresAt: number | undefined;
}

/** A cache entry that is absent is `undefined`; a lookup that found nothing is `null` (cached too). */
type Cached<T> = T | null;

/**
 * Misses are cached only while a cache is smaller than this: names made up by
 * clients (`x@random`) must not grow it without bound.
 */
const MAX_CACHED = 50_000;

/**
 * A tenant found missing is believed missing this long. Creating a tenant
 * publishes no change event, so a miss cached for good would keep a tenant
 * created (or re-created) after a device's failed attempt unreachable.
 */
const TENANT_MISS_TTL_MS = 2_000;

/** Postgres text cannot hold U+0000; such a name matches nothing (and must not reach a query). */
const NUL = "\u0000";

/**
 * Cached view of what the broker asks the control plane at CONNECT and for
 * authorization. Nothing is loaded up front and nothing polls: entries are
 * read on first use and dropped when the change feed says they changed.
 *
 * Verified passwords are remembered as an HMAC under a key that lives only in
 * this process, so a reconnect storm after an outage does not pay the
 * password hash again for every device, and the cache holds nothing that
 * would help an attacker who read it.
 */
export class TenantDirectory {
  private readonly tenants = new Map<string, Cached<TenantEntry>>();
  private readonly credentials = new Map<string, Cached<CredentialEntry>>();
  private readonly verified = new Map<string, Buffer>();
  private readonly acls = new Map<string, CompiledAcl>();
  /** Slug of every tenant ever found, by id; kept across invalidations (a deleted tenant's is needed). */
  private readonly slugs = new Map<string, string>();
  /** When each cached tenant miss stops counting. */
  private readonly tenantMissUntil = new Map<string, number>();
  private readonly hmacKey = randomBytes(32);

  constructor(
    private readonly database: DatabaseService,
    private readonly repo: TenantDirectoryRepository,
  ) {}

  async tenant(slug: string): Promise<TenantEntry | null> {
    if (!isTenantSlug(slug)) return null;
    const cached = this.tenants.get(slug);
    if (cached || (cached === null && (this.tenantMissUntil.get(slug) ?? 0) > Date.now())) return cached;
    const t = await this.repo.tenantBySlug(this.database.db, slug);
    const entry: TenantEntry | null = t
      ? {
          id: t.id,
          slug: t.slug,
          active: t.status === "active",
          quotas: {
            maxConnections: t.maxConnections,
            maxSubscriptionsPerClient: t.maxSubscriptionsPerClient,
            maxMessagesPerSecond: t.maxMessagesPerSecond,
            maxBytesPerSecond: t.maxBytesPerSecond,
            maxRetainedMessages: t.maxRetainedMessages,
            maxQueuedMessages: t.maxQueuedMessages,
            maxPacketSize: t.maxPacketSize,
          },
        }
      : null;
    if (entry || this.tenants.size < MAX_CACHED) this.tenants.set(slug, entry);
    if (entry) this.slugs.set(entry.id, entry.slug);
    if (entry) this.tenantMissUntil.delete(slug);
    else this.tenantMissUntil.set(slug, Date.now() + TENANT_MISS_TTL_MS);
    return entry;
  }

  /** The slug a tenant had when this process last found it (it may since have been deleted). */
  slugOf(tenantId: string): string | undefined {
    return this.slugs.get(tenantId);
  }

  async credential(tenantId: string, username: string): Promise<CredentialEntry | null> {
    if (username.includes(NUL)) return null;
    const key = `${tenantId}\u0000${username}`;
    const cached = this.credentials.get(key);
    if (cached !== undefined) return cached;
    const c = await this.repo.credential(this.database.db, tenantId, username);
    const entry: CredentialEntry | null = c
      ? {
          credentialId: c.id,
          deviceId: c.device.id,
          clientId: c.device.clientId,
          passwordHash: c.passwordHash,
          usable: c.enabled && c.revokedAt === null && c.device.enabled,
          expiresAt: c.expiresAt?.getTime(),
        }
      : null;
    if (entry || this.credentials.size < MAX_CACHED) this.credentials.set(key, entry);
    return entry;
  }

  /** Checks a password, consulting the verified cache first. */
  async checkPassword(entry: CredentialEntry, password: Buffer): Promise<boolean> {
    const mac = createHmac("sha256", this.hmacKey).update(entry.passwordHash).update("\u0000").update(password).digest();
    const known = this.verified.get(entry.credentialId);
    if (known && timingSafeEqual(known, mac)) return true;
    const ok = await verifyPassword(entry.passwordHash, password.toString("utf8"));
    if (ok) this.verified.set(entry.credentialId, mac);
    return ok;
  }

  async device(tenantId: string, clientId: string) {
    if (clientId.includes(NUL)) return null;
    return this.repo.device(this.database.db, tenantId, clientId);
  }

  certificate(fingerprint: string) {
    return this.repo.certificateByFingerprint(this.database.db, fingerprint);
  }

  async acl(tenantId: string, deviceId: string, clientId: string, username: string): Promise<CompiledAcl> {
    const key = `${deviceId}\u0000${username}`;
    const cached = this.acls.get(key);
    if (cached) return cached;
    const rules = await this.repo.rulesForDevice(this.database.db, tenantId, deviceId);
    const acl = new CompiledAcl(rules, { clientid: clientId, username });
    this.acls.set(key, acl);
    return acl;
  }

  // ---- invalidation (from the change feed) ----------------------------------------

  forgetTenant(slug: string | undefined): void {
    if (slug) {
      this.tenants.delete(slug);
      this.tenantMissUntil.delete(slug);
    } else {
      this.tenants.clear();
      this.tenantMissUntil.clear();
    }
  }

  forgetDevice(deviceId: string): void {
    for (const [k, v] of this.credentials) if (v === null || v.deviceId === deviceId) this.credentials.delete(k);
    for (const k of this.acls.keys()) if (k.startsWith(deviceId + "\u0000")) this.acls.delete(k);
  }

  forgetCredential(credentialId: string | undefined): void {
    for (const [k, v] of this.credentials) if (v === null || !credentialId || v.credentialId === credentialId) this.credentials.delete(k);
    if (credentialId) this.verified.delete(credentialId);
    else this.verified.clear();
  }

  /** Roles, rules, bindings or groups changed somewhere: recompile on next use. */
  forgetAcls(): void {
    this.acls.clear();
  }
}
