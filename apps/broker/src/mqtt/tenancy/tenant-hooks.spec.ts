import { createHash } from "node:crypto";
import { CompiledAcl } from "@halyard/acl";
import { ReasonCode, type AuthenticateRequest } from "@halyard/engine";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { IdentityProviderUnavailableError, TokenRejectedError, type OidcVerifier, type Principal } from "../../modules/auth/oidc-verifier.ts";
import type { CredentialEntry, TenantDirectory, TenantEntry } from "./tenant-directory.ts";
import { TenantHooks, type DeviceAttributes } from "./tenant-hooks.ts";

/**
 * Tenant resolution and device authentication at CONNECT, against an
 * in-memory directory: the cases the end-to-end suites do not reach cheaply.
 */

const quotas: TenantEntry["quotas"] = {
  maxConnections: null,
  maxSubscriptionsPerClient: null,
  maxMessagesPerSecond: null,
  maxBytesPerSecond: null,
  maxRetainedMessages: null,
  maxQueuedMessages: null,
  maxPacketSize: null,
};
const acme: TenantEntry = { id: "t-acme", slug: "acme", active: true, quotas };
const DER = Buffer.from("a device certificate, DER");

function directory() {
  const credentials = new Map<string, CredentialEntry & { password: string }>([
    ["sensor-1", { credentialId: "c-1", deviceId: "d-1", clientId: "sensor-1", passwordHash: "h", usable: true, expiresAt: undefined, password: "s3cret" }],
    ["dotted", { credentialId: "c-2", deviceId: "d-2", clientId: "dotted", passwordHash: "h", usable: true, expiresAt: undefined, password: "abc.def.ghi" }],
  ]);
  const aclUsernames: string[] = [];
  const fake = {
    aclUsernames,
    async tenant(slug: string) {
      return slug === "acme" ? acme : null;
    },
    async credential(tenantId: string, username: string) {
      return tenantId === acme.id ? (credentials.get(username) ?? null) : null;
    },
    async checkPassword(entry: CredentialEntry, password: Buffer) {
      return (entry as CredentialEntry & { password: string }).password === password.toString();
    },
    async device(tenantId: string, clientId: string) {
      return tenantId === acme.id && clientId === "svc-1" ? { id: "d-3", clientId, enabled: true } : null;
    },
    async certificate(fingerprint: string) {
      if (fingerprint !== createHash("sha256").update(DER).digest("hex")) return null;
      return {
        revokedAt: null,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 60_000),
        device: { id: "d-4", clientId: "cert-1", enabled: true },
        tenant: { slug: "acme" },
        authority: { revokedAt: null, notAfter: new Date(Date.now() + 60_000) },
      };
    },
    async acl(_tenantId: string, _deviceId: string, clientId: string, username: string) {
      aclUsernames.push(username);
      return new CompiledAcl([], { clientid: clientId, username });
    },
  };
  return fake;
}

function hooks(opts: { tokens?: (jwt: string) => Promise<Principal>; maxFailures?: number } = {}) {
  const dir = directory();
  const tokens = opts.tokens ? ({ verify: opts.tokens } as unknown as OidcVerifier) : undefined;
  const h = new TenantHooks(
    dir as unknown as TenantDirectory,
    { usernameSeparator: "@", sniDomain: "mqtt.test", anonymous: "local", maxAuthFailuresPerMinute: opts.maxFailures ?? 20 },
    tokens,
    pino({ level: "silent" }),
  );
  return { h, dir };
}

function req(over: Omit<Partial<AuthenticateRequest>, "password"> & { password?: string }): AuthenticateRequest {
  const { password, ...rest } = over;
  return {
    clientId: "sensor-1",
    clientIdAssigned: false,
    username: undefined,
    password: password === undefined ? undefined : Buffer.from(password),
    protocolVersion: 5,
    remoteAddress: "127.0.0.1",
    transport: { transport: "tcp" },
    ...rest,
  };
}

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
const tlsWithCert = (authorized: boolean, servername?: string) => ({ transport: "tls", peerCertificate: DER, authorized, ...(servername ? { servername } : {}) });

describe("TenantHooks.authenticate", () => {
  it("with the tenant from SNI, a plain username and its password authenticate", async () => {
    const { h } = hooks();
    const r = await h.authenticate(req({ username: "sensor-1", password: "s3cret", transport: { transport: "tls", servername: "acme.mqtt.test" } }));
    expect(r).toMatchObject({ ok: true, mountPoint: "acme/" });
    expect(r.ok && (r.attributes as unknown as DeviceAttributes).username).toBe("sensor-1");
  });

  it("a certificate-authenticated device's ${username} is its client id, not whatever username it sent", async () => {
    const { h, dir } = hooks();
    const r = await h.authenticate(req({ clientId: "cert-1", username: "sensor-1", transport: tlsWithCert(true) }));
    expect(r).toMatchObject({ ok: true, mountPoint: "acme/" });
    expect(r.ok && (r.attributes as unknown as DeviceAttributes).username).toBe("cert-1");
    expect(dir.aclUsernames).toEqual(["cert-1"]);
  });

  it("a token-authenticated device's ${username} is its client id too", async () => {
    const { h } = hooks({ tokens: async () => ({ tenantClaim: "acme", clientId: "svc-1" }) as Principal });
    const r = await h.authenticate(req({ clientId: "svc-1", username: "someone-else", password: JWT }));
    expect(r).toMatchObject({ ok: true, mountPoint: "acme/" });
    expect(r.ok && (r.attributes as unknown as DeviceAttributes).username).toBe("svc-1");
  });

  it("a certificate is recognised by fingerprint, whatever its chain; one that names no device is refused, not treated as anonymous", async () => {
    const { h } = hooks();
    // Tenant CAs are not in the listener's trust list, so a genuine device certificate arrives unverified.
    expect(await h.authenticate(req({ clientId: "cert-1", transport: tlsWithCert(false) }))).toMatchObject({ ok: true, mountPoint: "acme/" });
    const unknown = { transport: "tls", peerCertificate: Buffer.from("another"), authorized: true };
    expect(await h.authenticate(req({ clientId: "x", transport: unknown }))).toMatchObject({ ok: false, reasonCode: ReasonCode.NotAuthorized });
    // Without a certificate, loopback clients are anonymous by policy.
    expect(await h.authenticate(req({ clientId: "x" }))).toMatchObject({ ok: true, mountPoint: "_anonymous/" });
  });

  it("a password shaped like a JWT that does not verify as a token is still checked as a password", async () => {
    const { h } = hooks({
      tokens: async () => {
        throw new TokenRejectedError("malformed");
      },
    });
    expect(await h.authenticate(req({ clientId: "dotted", username: "dotted@acme", password: "abc.def.ghi" }))).toMatchObject({ ok: true, mountPoint: "acme/" });
    expect(await h.authenticate(req({ clientId: "dotted", username: "dotted@acme", password: "abc.def.ghx" }))).toMatchObject({
      ok: false,
      reasonCode: ReasonCode.BadUserNameOrPassword,
    });
    expect(await h.authenticate(req({ clientId: "svc-1", password: JWT }))).toMatchObject({ ok: false, reasonCode: ReasonCode.BadUserNameOrPassword });
  });

  it("an unreachable identity provider answers 0x88 and does not count as the client's failure", async () => {
    const { h } = hooks({
      maxFailures: 2,
      tokens: async () => {
        throw new IdentityProviderUnavailableError("down");
      },
    });
    for (let i = 0; i < 3; i++) {
      expect(await h.authenticate(req({ clientId: "svc-1", password: JWT }))).toMatchObject({ ok: false, reasonCode: ReasonCode.ServerUnavailable });
    }
    expect(await h.authenticate(req({ username: "sensor-1@acme", password: "s3cret" }))).toMatchObject({ ok: true });
  });

  it("failures are limited per username as well as per source address", async () => {
    const { h } = hooks({ maxFailures: 2 });
    for (const addr of ["10.0.0.1", "10.0.0.2"]) {
      await h.authenticate(req({ username: "sensor-1@acme", password: "wrong", remoteAddress: addr }));
    }
    // A third address, the right password: the username is locked for the minute.
    expect(await h.authenticate(req({ username: "sensor-1@acme", password: "s3cret", remoteAddress: "10.0.0.3" }))).toMatchObject({
      ok: false,
      reasonCode: ReasonCode.ConnectionRateExceeded,
    });
    // Other usernames from that address are not.
    expect(await h.authenticate(req({ clientId: "dotted", username: "dotted@acme", password: "abc.def.ghi", remoteAddress: "10.0.0.3" }))).toMatchObject({ ok: true });
  });

  it("failures count against a tenant that exists, and made-up tenant names create no counters", async () => {
    const { h } = hooks({ maxFailures: 1000 });
    await h.authenticate(req({ username: "sensor-1@acme", password: "wrong" }));
    for (let i = 0; i < 50; i++) await h.authenticate(req({ username: `x@made-up-${i}`, password: "p" }));
    expect([...h.stats.entries()].map(([slug, c]) => [slug, c.authFailures])).toEqual([["acme", 1]]);
  });
});
