import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";

export type TenantRole = "tenant_admin" | "tenant_operator" | "tenant_viewer";

export interface Principal {
  /** "client" for service-account (client_credentials) tokens, "user" otherwise. */
  kind: "user" | "client";
  issuer: string;
  subject: string;
  /** Keycloak's `azp`: the client the token was issued to. */
  clientId?: string;
  username?: string;
  email?: string;
  platformAdmin: boolean;
  /** Tenant slug → role, from groups `/tenants/<slug>/<role>`. */
  tenantRoles: Map<string, TenantRole>;
  /** The `tenant` claim a hardcoded-claim mapper puts on device/automation clients. */
  tenantClaim?: string;
}

export type TokenRejectionReason =
  | "malformed"
  | "disallowed_alg"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_issuer"
  | "wrong_audience"
  | "wrong_token_type";

/** The bearer token is not acceptable (answer 401). Messages carry a reason code, never the token or its claims. */
export class TokenRejectedError extends Error {
  constructor(readonly reason: TokenRejectionReason) {
    super(`token rejected: ${reason}`);
    this.name = "TokenRejectedError";
  }
}

/** Keys could not be fetched, so no verdict on the token is possible (answer 503, not 401). */
export class IdentityProviderUnavailableError extends Error {
  constructor(detail: string) {
    super(`identity provider unavailable: ${detail}`);
    this.name = "IdentityProviderUnavailableError";
  }
}

export interface OidcVerifierOptions {
  /** Exact `iss` of the realm, e.g. https://sso.example.com/realms/halyard (OIDC Core §3.1.3.7 step 2). */
  issuer: string;
  /** Accepted `aud` values; a token must name at least one (RFC 7519 §4.1.3). */
  audience: string | string[];
  /** Default: jwks_uri from discovery, else `${issuer}/protocol/openid-connect/certs`. */
  jwksUri?: string;
  /** Leeway for exp/nbf (RFC 7519 §4.1.4-5). Default 30. */
  clockToleranceSec?: number;
  platformAdminRole?: string;
  tenantGroupPrefix?: string;
  /** Minimum seconds between JWKS refetches triggered by an unknown kid. Default 30. */
  jwksCooldownSec?: number;
}

// RFC 8725 §3.1: the verifier, not the token header, decides which algorithms are acceptable;
// this list excludes "none" and the HMAC family (whose key would be the public key).
const ALGORITHMS = ["RS256", "ES256", "PS256"];
const TENANT_ROLES: readonly TenantRole[] = ["tenant_admin", "tenant_operator", "tenant_viewer"];
const ROLE_RANK: Record<TenantRole, number> = { tenant_viewer: 1, tenant_operator: 2, tenant_admin: 3 };
/** Larger than any header Node accepts by default (16 KiB); anything longer is not a token we issued. */
const MAX_TOKEN_LENGTH = 32 * 1024;
const JWKS_UNAVAILABLE_CODES = new Set(["ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID", "ERR_JOSE_GENERIC"]);

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export class OidcVerifier {
  private readonly issuer: string;
  private readonly audiences: string[];
  private readonly clockTolerance: number;
  private readonly platformAdminRole: string;
  private readonly tenantGroupPrefix: string;
  private readonly jwksCooldownMs: number;
  private readonly explicitJwksUri: string | undefined;
  private jwks: Promise<JWTVerifyGetKey> | undefined;

  constructor(opts: OidcVerifierOptions) {
    this.issuer = opts.issuer;
    this.audiences = Array.isArray(opts.audience) ? [...opts.audience] : [opts.audience];
    if (this.audiences.length === 0) throw new Error("OidcVerifier needs at least one audience");
    this.clockTolerance = opts.clockToleranceSec ?? 30;
    this.platformAdminRole = opts.platformAdminRole ?? "platform_admin";
    const prefix = opts.tenantGroupPrefix ?? "/tenants/";
    this.tenantGroupPrefix = prefix.endsWith("/") ? prefix : `${prefix}/`;
    this.jwksCooldownMs = (opts.jwksCooldownSec ?? 30) * 1000;
    this.explicitJwksUri = opts.jwksUri;
  }

  async verify(token: string): Promise<Principal> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError("malformed");
    const getKey = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: this.issuer,
        audience: this.audiences,
        algorithms: ALGORITHMS,
        clockTolerance: this.clockTolerance,
        // A token without exp would never expire (RFC 7519 §4.1.4 makes exp optional; we do not).
        requiredClaims: ["exp", "sub"],
      }));
    } catch (err) {
      throw this.translate(err);
    }

    // Keycloak marks its JWTs with a `typ` claim ("Bearer", "ID", "Refresh"); an ID token whose aud
    // happens to match must not pass as an access token (RFC 8725 §3.11).
    if (payload.typ !== undefined && payload.typ !== "Bearer") throw new TokenRejectedError("wrong_token_type");
    if (typeof payload.sub !== "string" || payload.sub === "") throw new TokenRejectedError("malformed");
    return this.toPrincipal(payload);
  }

  private toPrincipal(payload: JWTPayload): Principal {
    const realmRoles = strings(record(payload.realm_access).roles);
    // Only roles of the clients this API answers to count; a role of the same name on another
    // client belongs to that client.
    const resourceAccess = record(payload.resource_access);
    const clientRoles = this.audiences.flatMap((aud) => strings(record(resourceAccess[aud]).roles));

    const tenantRoles = new Map<string, TenantRole>();
    for (const group of strings(payload.groups)) {
      if (!group.startsWith(this.tenantGroupPrefix)) continue;
      const parts = group.slice(this.tenantGroupPrefix.length).split("/");
      if (parts.length !== 2) continue;
      const [slug = "", role = ""] = parts;
      if (!slug || !(TENANT_ROLES as readonly string[]).includes(role)) continue;
      const r = role as TenantRole;
      const held = tenantRoles.get(slug);
      if (!held || ROLE_RANK[r] > ROLE_RANK[held]) tenantRoles.set(slug, r);
    }

    // Keycloak puts client_id (clientId before v20) only on service-account tokens.
    const isClient = typeof payload.client_id === "string" || typeof payload.clientId === "string";
    const principal: Principal = {
      kind: isClient ? "client" : "user",
      issuer: payload.iss!,
      subject: payload.sub!,
      platformAdmin: realmRoles.includes(this.platformAdminRole) || clientRoles.includes(this.platformAdminRole),
      tenantRoles,
    };
    if (typeof payload.azp === "string") principal.clientId = payload.azp;
    if (typeof payload.preferred_username === "string") principal.username = payload.preferred_username;
    if (typeof payload.email === "string") principal.email = payload.email;
    if (typeof payload.tenant === "string") principal.tenantClaim = payload.tenant;
    return principal;
  }

  private translate(err: unknown): Error {
    if (err instanceof errors.JWTExpired) return new TokenRejectedError("expired");
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.reason === "missing") return new TokenRejectedError("malformed");
      if (err.claim === "nbf") return new TokenRejectedError("not_yet_valid");
      if (err.claim === "iss") return new TokenRejectedError("wrong_issuer");
      if (err.claim === "aud") return new TokenRejectedError("wrong_audience");
      return new TokenRejectedError("malformed");
    }
    if (err instanceof errors.JOSEAlgNotAllowed) return new TokenRejectedError("disallowed_alg");
    if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenRejectedError("bad_signature");
    if (err instanceof errors.JWKSNoMatchingKey) return new TokenRejectedError("unknown_key");
    if (err instanceof errors.JWKSMultipleMatchingKeys) return new TokenRejectedError("bad_signature");
    if (err instanceof errors.JOSEError && !JWKS_UNAVAILABLE_CODES.has(err.code)) return new TokenRejectedError("malformed");
    // Timeouts, connection failures, non-200 or unparsable JWKS responses.
    return new IdentityProviderUnavailableError(err instanceof errors.JOSEError ? err.code : "jwks fetch failed");
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.jwks ??= this.resolveJwksUri().then(
      (uri) =>
        // OIDC Core §10.1.1: an unfamiliar kid means the signer rotated keys; createRemoteJWKSet
        // refetches then, at most once per cooldown so that forged kids cannot hammer the IdP.
        createRemoteJWKSet(new URL(uri), { cooldownDuration: this.jwksCooldownMs }),
      (err: unknown) => {
        this.jwks = undefined;
        throw err;
      },
    );
    return this.jwks;
  }

  private async resolveJwksUri(): Promise<string> {
    if (this.explicitJwksUri) return this.explicitJwksUri;
    const keycloakDefault = `${this.issuer}/protocol/openid-connect/certs`;
    let res: Response;
    try {
      res = await fetch(`${this.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000), headers: { accept: "application/json" } });
    } catch {
      // Transient: not cached, the next verify tries discovery again.
      throw new IdentityProviderUnavailableError("discovery fetch failed");
    }
    if (!res.ok) return keycloakDefault;
    const doc = record(await res.json().catch(() => ({})));
    // OIDC Discovery §4.3: a document whose issuer differs from the expected one must not be used.
    if (doc.issuer !== this.issuer || typeof doc.jwks_uri !== "string") return keycloakDefault;
    return doc.jwks_uri;
  }
}
