import { startKeycloakLikeProvider, type KeycloakLikeProvider } from "@halyard/oidc-testing";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentityProviderUnavailableError, OidcVerifier, TokenRejectedError, type TokenRejectionReason } from "./oidc-verifier.ts";

const REDIRECT = "http://127.0.0.1:3999/callback";
let kc: KeycloakLikeProvider;
let verifier: OidcVerifier;

beforeAll(async () => {
  kc = await startKeycloakLikeProvider({
    users: [
      {
        username: "alice",
        password: "pw-alice",
        email: "alice@example.com",
        realmRoles: ["platform_admin"],
        groups: [
          "/tenants/acme/tenant_viewer",
          "/tenants/acme/tenant_admin",
          "/tenants/globex/tenant_operator",
          "/tenants/initech/tenant_superuser",
          "/tenants/deep/nested/tenant_admin",
          "/tenants//tenant_admin",
          "/other/umbrella/tenant_admin",
          "tenant_admin",
        ],
      },
      { username: "carol", password: "pw-carol", clientRoles: { "halyard-api": ["platform_admin"] } },
      { username: "dave", password: "pw-dave", clientRoles: { "some-other-app": ["platform_admin"] }, groups: ["/tenants/acme/tenant_viewer"] },
    ],
    clients: [
      { clientId: "halyard-console", publicClient: true, redirectUris: [REDIRECT] },
      { clientId: "gateway-7", secret: "gw7", serviceAccountsEnabled: true, tenant: "acme" },
      { clientId: "elsewhere", secret: "else", serviceAccountsEnabled: true, audience: ["not-halyard"] },
    ],
  });
  verifier = new OidcVerifier({ issuer: kc.issuer, audience: "halyard-api", jwksCooldownSec: 0 });
});

afterAll(async () => {
  await kc?.stop();
});

function login(username: string, password: string): Promise<string> {
  return kc.authorizationCodeLogin({ clientId: "halyard-console", username, password }).then((t) => t.access_token);
}

async function reasonFor(v: OidcVerifier, token: string): Promise<TokenRejectionReason> {
  const err: unknown = await v.verify(token).then(
    () => new Error("token was accepted"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenRejectedError);
  const rejected = err as TokenRejectedError;
  // The message names the reason only: no token, no claims.
  expect(rejected.message).toBe(`token rejected: ${rejected.reason}`);
  return rejected.reason;
}

function b64(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString("base64url");
}

describe("OidcVerifier accepts", () => {
  it("a user token from the authorization code flow, mapping roles and tenant groups", async () => {
    const p = await verifier.verify(await login("alice", "pw-alice"));
    expect(p).toMatchObject({
      kind: "user",
      issuer: kc.issuer,
      subject: kc.userId("alice"),
      clientId: "halyard-console",
      username: "alice",
      email: "alice@example.com",
      platformAdmin: true,
    });
    expect(p.tenantClaim).toBeUndefined();
    // Highest role per tenant; unknown roles, other prefixes and malformed paths are ignored.
    expect(Object.fromEntries(p.tenantRoles)).toEqual({ acme: "tenant_admin", globex: "tenant_operator" });
  });

  it("a client-credentials token with its tenant claim", async () => {
    const { access_token } = await kc.clientCredentialsToken("gateway-7", "gw7");
    const p = await verifier.verify(access_token);
    expect(p).toMatchObject({ kind: "client", issuer: kc.issuer, clientId: "gateway-7", username: "service-account-gateway-7", tenantClaim: "acme", platformAdmin: false });
    expect(p.tenantRoles.size).toBe(0);
  });

  it("platform_admin as a client role of the audience client, but not of another client", async () => {
    expect((await verifier.verify(await login("carol", "pw-carol"))).platformAdmin).toBe(true);
    const dave = await verifier.verify(await login("dave", "pw-dave"));
    expect(dave.platformAdmin).toBe(false);
    expect(Object.fromEntries(dave.tenantRoles)).toEqual({ acme: "tenant_viewer" });
  });

  it("custom role name, group prefix and an explicit jwksUri", async () => {
    const v = new OidcVerifier({ issuer: kc.issuer, audience: ["halyard-admin", "halyard-api"], jwksUri: kc.endpoints.jwks, platformAdminRole: "root", tenantGroupPrefix: "/orgs" });
    const p = await v.verify(await kc.mintAccessToken({ realm_access: { roles: ["root"] }, groups: ["/orgs/acme/tenant_operator", "/tenants/acme/tenant_admin"] }));
    expect(p.platformAdmin).toBe(true);
    expect(Object.fromEntries(p.tenantRoles)).toEqual({ acme: "tenant_operator" });
  });

  it("a token that expired within the clock tolerance", async () => {
    await expect(verifier.verify(await kc.mintAccessToken({}, { expiresIn: -10 }))).resolves.toMatchObject({ kind: "user" });
  });
});

describe("OidcVerifier rejects", () => {
  it("an expired token", async () => {
    expect(await reasonFor(verifier, await kc.mintAccessToken({}, { expiresIn: -120 }))).toBe("expired");
  });

  it("a token that is not yet valid", async () => {
    expect(await reasonFor(verifier, await kc.mintAccessToken({ nbf: Math.floor(Date.now() / 1000) + 600 }))).toBe("not_yet_valid");
  });

  it("a token signed with a foreign key, under the realm's kid or an unknown one", async () => {
    expect(await reasonFor(verifier, await kc.mintAccessToken({}, { signWithForeignKey: true }))).toBe("bad_signature");
    expect(await reasonFor(verifier, await kc.mintAccessToken({}, { signWithForeignKey: true, kid: "forged" }))).toBe("unknown_key");
  });

  it("a token for another audience, issued by the provider or minted", async () => {
    const { access_token } = await kc.clientCredentialsToken("elsewhere", "else");
    expect(await reasonFor(verifier, access_token)).toBe("wrong_audience");
    expect(await reasonFor(verifier, await kc.mintAccessToken({}, { audience: ["account"] }))).toBe("wrong_audience");
  });

  it("a token from another issuer", async () => {
    expect(await reasonFor(verifier, await kc.mintAccessToken({}, { issuer: `http://127.0.0.1:${kc.port}/realms/other` }))).toBe("wrong_issuer");
  });

  it("alg none and HMAC tokens", async () => {
    const claims = { iss: kc.issuer, aud: "halyard-api", sub: "x", exp: Math.floor(Date.now() / 1000) + 300 };
    expect(await reasonFor(verifier, `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`)).toBe("disallowed_alg");
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: kc.signingKeyId }).sign(new TextEncoder().encode("x".repeat(32)));
    expect(await reasonFor(verifier, hs)).toBe("disallowed_alg");
  });

  it("garbage", async () => {
    for (const junk of ["", "not-a-token", "a.b.c", "x".repeat(40_000)]) {
      expect(await reasonFor(verifier, junk)).toBe("malformed");
    }
    // jose checks the signature before it parses the claims, so a well-formed header with junk after it is unverifiable.
    expect(await reasonFor(verifier, `${b64({ alg: "RS256" })}.!!!.sig`)).toBe("bad_signature");
  });

  it("tokens without exp or sub", async () => {
    expect(await reasonFor(verifier, await kc.mintAccessToken({ exp: undefined }))).toBe("malformed");
    expect(await reasonFor(verifier, await kc.mintAccessToken({ sub: undefined }))).toBe("malformed");
  });

  it("a Keycloak ID or refresh token whose audience matches", async () => {
    expect(await reasonFor(verifier, await kc.mintAccessToken({ typ: "ID" }))).toBe("wrong_token_type");
    expect(await reasonFor(verifier, await kc.mintAccessToken({ typ: "Refresh" }))).toBe("wrong_token_type");
  });
});

describe("OidcVerifier keys", () => {
  it("refetches the JWKS when a rotated key's kid appears, within the cooldown only once", async () => {
    const throttled = new OidcVerifier({ issuer: kc.issuer, audience: "halyard-api" });
    const before = (await kc.clientCredentialsToken("gateway-7", "gw7")).access_token;
    await verifier.verify(before);
    await throttled.verify(before);

    await kc.rotateSigningKey();
    const after = (await kc.clientCredentialsToken("gateway-7", "gw7")).access_token;
    await expect(verifier.verify(after)).resolves.toMatchObject({ clientId: "gateway-7" });
    await expect(verifier.verify(before)).resolves.toMatchObject({ clientId: "gateway-7" });
    // The default 30 s cooldown has not passed since the first fetch: the new kid stays unknown.
    expect(await reasonFor(throttled, after)).toBe("unknown_key");
  });

  it("reports an unreachable provider as unavailable, not as a bad token", async () => {
    const v = new OidcVerifier({ issuer: "http://127.0.0.1:1/realms/halyard", audience: "halyard-api" });
    await expect(v.verify(await kc.mintAccessToken())).rejects.toBeInstanceOf(IdentityProviderUnavailableError);
    const direct = new OidcVerifier({ issuer: kc.issuer, audience: "halyard-api", jwksUri: "http://127.0.0.1:1/certs" });
    await expect(direct.verify(await kc.mintAccessToken())).rejects.toBeInstanceOf(IdentityProviderUnavailableError);
  });
});
