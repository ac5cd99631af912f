import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar, TokenRequestError, browse, startKeycloakLikeProvider, type KeycloakLikeProvider } from "../src/index.ts";

const CONSOLE_REDIRECT = "http://127.0.0.1:3999/api/auth/callback/keycloak";
const CONSOLE_LOGOUT_REDIRECT = "http://127.0.0.1:3999/";

let kc: KeycloakLikeProvider;

beforeAll(async () => {
  kc = await startKeycloakLikeProvider({
    users: [
      {
        username: "Alice",
        password: "alice-pw",
        email: "alice@example.com",
        firstName: "Alice",
        lastName: "Admin",
        realmRoles: ["platform_admin"],
        clientRoles: { "halyard-api": ["api-reader"] },
        groups: ["/tenants/acme/tenant_admin", "/tenants/globex/tenant_viewer"],
      },
      { username: "bob", password: "bob-pw", email: "bob@example.com" },
    ],
    clients: [
      { clientId: "halyard-console", publicClient: true, redirectUris: [CONSOLE_REDIRECT], postLogoutRedirectUris: [CONSOLE_LOGOUT_REDIRECT] },
      { clientId: "device-gw-1", secret: "gw-secret", serviceAccountsEnabled: true, tenant: "acme", serviceAccount: { realmRoles: ["mqtt_device"], groups: ["/tenants/acme/tenant_operator"] } },
      { clientId: "automation", secret: "auto-secret", serviceAccountsEnabled: true, tokenEndpointAuthMethod: "client_secret_post" },
      { clientId: "other-api-client", secret: "other-secret", serviceAccountsEnabled: true, audience: ["some-other-api"] },
    ],
  });
});

afterAll(async () => {
  await kc?.stop();
});

function jwks() {
  return createRemoteJWKSet(new URL(kc.endpoints.jwks));
}

function s256(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

describe("Keycloak layout", () => {
  it("serves discovery under /realms/<realm> with Keycloak's endpoint paths", async () => {
    const res = await fetch(`${kc.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const d = (await res.json()) as Record<string, unknown>;
    const base = `http://127.0.0.1:${kc.port}/realms/halyard`;
    expect(kc.issuer).toBe(base);
    expect(d).toMatchObject({
      issuer: base,
      authorization_endpoint: `${base}/protocol/openid-connect/auth`,
      token_endpoint: `${base}/protocol/openid-connect/token`,
      jwks_uri: `${base}/protocol/openid-connect/certs`,
      userinfo_endpoint: `${base}/protocol/openid-connect/userinfo`,
      end_session_endpoint: `${base}/protocol/openid-connect/logout`,
      introspection_endpoint: `${base}/protocol/openid-connect/token/introspect`,
    });
    expect(d.code_challenge_methods_supported).toEqual(["S256"]);
    expect(d.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", "client_credentials"]));
  });

  it("publishes RS256 signing keys at /certs", async () => {
    const body = (await (await fetch(kc.endpoints.jwks)).json()) as { keys: Record<string, unknown>[] };
    expect(body.keys.length).toBeGreaterThan(0);
    for (const k of body.keys) {
      expect(k).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
      expect(k).not.toHaveProperty("d");
    }
    expect(body.keys.map((k) => k.kid)).toContain(kc.signingKeyId);
  });

  it("answers 404 outside the realm", async () => {
    expect((await fetch(`http://127.0.0.1:${kc.port}/realms/other/.well-known/openid-configuration`)).status).toBe(404);
  });
});

describe("client_credentials", () => {
  it("issues a JWT access token verifiable against /certs with Keycloak claims and the tenant claim", async () => {
    const res = await kc.clientCredentialsToken("device-gw-1", "gw-secret");
    expect(res.token_type).toBe("Bearer");
    expect(res.expires_in).toBe(300);
    const header = decodeProtectedHeader(res.access_token);
    expect(header).toMatchObject({ alg: "RS256", typ: "JWT", kid: kc.signingKeyId });

    const { payload } = await jwtVerify(res.access_token, jwks(), { issuer: kc.issuer, audience: "halyard-api", algorithms: ["RS256"] });
    expect(payload).toMatchObject({
      iss: kc.issuer,
      aud: ["halyard-api", "account"],
      azp: "device-gw-1",
      client_id: "device-gw-1",
      typ: "Bearer",
      preferred_username: "service-account-device-gw-1",
      tenant: "acme",
      scope: "profile email",
      groups: ["/tenants/acme/tenant_operator"],
      resource_access: { account: { roles: ["manage-account", "manage-account-links", "view-profile"] } },
    });
    expect((payload.realm_access as { roles: string[] }).roles).toEqual(expect.arrayContaining(["mqtt_device", "default-roles-halyard"]));
    expect(payload.sub).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(300);
  });

  it("supports client_secret_post clients and rejects a wrong secret", async () => {
    const ok = await kc.clientCredentialsToken("automation", "auto-secret");
    expect(decodeJwt(ok.access_token)).toMatchObject({ azp: "automation" });
    expect(decodeJwt(ok.access_token)).not.toHaveProperty("tenant");
    await expect(kc.clientCredentialsToken("device-gw-1", "nope")).rejects.toMatchObject({ name: "TokenRequestError", status: 401, error: "invalid_client" });
  });

  it("applies a client's own Audience mapper", async () => {
    const res = await kc.clientCredentialsToken("other-api-client", "other-secret");
    const aud = decodeJwt(res.access_token).aud;
    expect(aud).toEqual(["some-other-api", "account"]);
    await expect(jwtVerify(res.access_token, jwks(), { issuer: kc.issuer, audience: "halyard-api" })).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });

  it("keeps the grant restricted to clients with service accounts", async () => {
    const err = await fetch(kc.endpoints.token, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: "halyard-console" }),
    });
    expect(err.status).toBeGreaterThanOrEqual(400);
  });
});

describe("authorization code + PKCE through the login form", () => {
  it("walks the redirects and the form like a browser and exchanges the code with the verifier", async () => {
    const verifier = randomBytes(32).toString("base64url");
    const state = randomBytes(8).toString("hex");
    const nonce = randomBytes(8).toString("hex");
    const authUrl = `${kc.endpoints.authorization}?${new URLSearchParams({
      client_id: "halyard-console",
      response_type: "code",
      redirect_uri: CONSOLE_REDIRECT,
      scope: "openid profile email",
      state,
      nonce,
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
    })}`;
    const jar = new CookieJar();
    const atApp = (loc: string) => loc.startsWith(CONSOLE_REDIRECT);

    const login = await browse(jar, authUrl, {}, atApp);
    expect(login.status).toBe(200);
    expect(login.url).toContain("/realms/halyard/login-actions/authenticate/");
    for (const id of ['id="username"', 'id="password"', 'id="kc-login"', 'id="kc-form-login"']) expect(login.body).toContain(id);
    const action = new URL(/id="kc-form-login"[^>]*action="([^"]+)"/.exec(login.body)![1]!, login.url).href;

    const wrong = await browse(jar, action, { method: "POST", body: new URLSearchParams({ username: "alice", password: "bad" }) }, atApp);
    expect(wrong.status).toBe(200);
    expect(wrong.body).toContain("Invalid username or password.");

    const done = await browse(jar, action, { method: "POST", body: new URLSearchParams({ username: "alice", password: "alice-pw" }) }, atApp);
    expect(done.stoppedAt).toBeDefined();
    const cb = new URL(done.stoppedAt!);
    expect(cb.searchParams.get("state")).toBe(state);
    expect(cb.searchParams.get("iss")).toBe(kc.issuer);
    const code = cb.searchParams.get("code")!;

    const exchange = (extra: Record<string, string>) =>
      fetch(kc.endpoints.token, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", client_id: "halyard-console", code, redirect_uri: CONSOLE_REDIRECT, ...extra }),
      });
    const noVerifier = await exchange({ code_verifier: randomBytes(32).toString("base64url") });
    expect(noVerifier.status).toBe(400);
    expect(((await noVerifier.json()) as { error: string }).error).toBe("invalid_grant");

    const ok = await exchange({ code_verifier: verifier });
    expect(ok.status).toBe(200);
    const tokens = (await ok.json()) as { access_token: string; id_token: string; refresh_token: string; scope: string };
    expect(tokens.scope).toBe("openid profile email");
    expect(tokens.refresh_token).toBeTruthy();

    const { payload: at } = await jwtVerify(tokens.access_token, jwks(), { issuer: kc.issuer, audience: "halyard-api" });
    expect(at).toMatchObject({
      sub: kc.userId("alice"),
      azp: "halyard-console",
      typ: "Bearer",
      scope: "openid profile email",
      preferred_username: "alice",
      email: "alice@example.com",
      email_verified: true,
      groups: ["/tenants/acme/tenant_admin", "/tenants/globex/tenant_viewer"],
      resource_access: { "halyard-api": { roles: ["api-reader"] } },
    });
    expect((at.realm_access as { roles: string[] }).roles).toContain("platform_admin");
    expect(at).not.toHaveProperty("client_id");
    expect(at).not.toHaveProperty("tenant");

    const { payload: id } = await jwtVerify(tokens.id_token, jwks(), { issuer: kc.issuer, audience: "halyard-console" });
    expect(id).toMatchObject({ sub: kc.userId("alice"), nonce, preferred_username: "alice", email: "alice@example.com", groups: ["/tenants/acme/tenant_admin", "/tenants/globex/tenant_viewer"] });
  });

  it("requires PKCE from the public client", async () => {
    const res = await browse(
      new CookieJar(),
      `${kc.endpoints.authorization}?${new URLSearchParams({ client_id: "halyard-console", response_type: "code", redirect_uri: CONSOLE_REDIRECT, scope: "openid", state: "s" })}`,
      {},
      (loc) => loc.startsWith(CONSOLE_REDIRECT),
    );
    const cb = new URL(res.stoppedAt!);
    expect(cb.searchParams.get("error")).toBe("invalid_request");
    expect(cb.searchParams.get("error_description")).toMatch(/PKCE/);
  });

  it("logs in by email, refreshes into a new JWT and serves userinfo for the access token", async () => {
    const tokens = await kc.authorizationCodeLogin({ clientId: "halyard-console", username: "bob@example.com", password: "bob-pw" });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ preferred_username: "bob", sub: kc.userId("bob") });
    expect(decodeJwt(tokens.access_token)).not.toHaveProperty("groups");

    const ui = await fetch(kc.endpoints.userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(ui.status).toBe(200);
    expect(await ui.json()).toMatchObject({ sub: kc.userId("bob"), preferred_username: "bob", email: "bob@example.com" });

    const refreshed = await fetch(kc.endpoints.token, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: "halyard-console", refresh_token: tokens.refresh_token! }),
    });
    expect(refreshed.status).toBe(200);
    const r = (await refreshed.json()) as { access_token: string };
    const { payload } = await jwtVerify(r.access_token, jwks(), { issuer: kc.issuer, audience: "halyard-api" });
    expect(payload).toMatchObject({ preferred_username: "bob", azp: "halyard-console" });
  });

  it("reports a bad password from the helper", async () => {
    await expect(kc.authorizationCodeLogin({ clientId: "halyard-console", username: "alice", password: "wrong" })).rejects.toThrow(/Invalid username or password/);
  });

  it("logs out through /logout with id_token_hint and forgets the session", async () => {
    const jar = new CookieJar();
    const verifier = randomBytes(32).toString("base64url");
    const atApp = (loc: string) => loc.startsWith("http://127.0.0.1:3999/");
    const authUrl = `${kc.endpoints.authorization}?${new URLSearchParams({
      client_id: "halyard-console",
      response_type: "code",
      redirect_uri: CONSOLE_REDIRECT,
      scope: "openid",
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
    })}`;
    const login = await browse(jar, authUrl, {}, atApp);
    const action = new URL(/action="([^"]+)"/.exec(login.body)![1]!, login.url).href;
    const cb = await browse(jar, action, { method: "POST", body: new URLSearchParams({ username: "alice", password: "alice-pw" }) }, atApp);
    const tokens = (await (
      await fetch(kc.endpoints.token, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "authorization_code", client_id: "halyard-console", code: new URL(cb.stoppedAt!).searchParams.get("code")!, redirect_uri: CONSOLE_REDIRECT, code_verifier: verifier }),
      })
    ).json()) as { id_token: string };

    // The session cookie makes the next authorization request skip the form (SSO).
    expect((await browse(jar, authUrl, {}, atApp)).stoppedAt).toContain("code=");

    const confirm = await browse(jar, `${kc.endpoints.logout}?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: CONSOLE_LOGOUT_REDIRECT })}`);
    expect(confirm.status).toBe(200);
    expect(confirm.body).toContain('id="kc-logout"');
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(confirm.body)!;
    const fields = new URLSearchParams({ logout: "yes" });
    for (const m of form[2]!.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields.set(m[1]!, m[2]!);
    const out = await browse(jar, new URL(form[1]!, confirm.url).href, { method: "POST", body: fields }, atApp);
    expect(out.stoppedAt).toBe(CONSOLE_LOGOUT_REDIRECT);

    const again = await browse(jar, authUrl, {}, atApp);
    expect(again.stoppedAt).toBeUndefined();
    expect(again.body).toContain('id="kc-login"');
  });
});

describe("mintAccessToken", () => {
  const verify = (token: string) => jwtVerify(token, jwks(), { issuer: kc.issuer, audience: "halyard-api", algorithms: ["RS256"] });

  it("signs with the provider's own key so that a verifier accepts it", async () => {
    const token = await kc.mintAccessToken({ sub: "u-1", realm_access: { roles: ["platform_admin"] }, groups: ["/tenants/acme/tenant_viewer"] });
    const { payload, protectedHeader } = await verify(token);
    expect(protectedHeader.kid).toBe(kc.signingKeyId);
    expect(payload).toMatchObject({ sub: "u-1", iss: kc.issuer, aud: "halyard-api", groups: ["/tenants/acme/tenant_viewer"] });
  });

  it("crafts expired, wrong-audience and wrong-issuer tokens", async () => {
    await expect(verify(await kc.mintAccessToken({}, { expiresIn: -60 }))).rejects.toBeInstanceOf(errors.JWTExpired);
    await expect(verify(await kc.mintAccessToken({}, { audience: "someone-else" }))).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "aud" });
    await expect(verify(await kc.mintAccessToken({}, { issuer: "http://127.0.0.1:1/realms/evil" }))).rejects.toMatchObject({ code: "ERR_JWT_CLAIM_VALIDATION_FAILED", claim: "iss" });
    const nbf = Math.floor(Date.now() / 1000) + 600;
    await expect(verify(await kc.mintAccessToken({ nbf }))).rejects.toMatchObject({ claim: "nbf" });
  });

  it("crafts tokens signed by a foreign key, under the real kid or another one", async () => {
    await expect(verify(await kc.mintAccessToken({}, { signWithForeignKey: true }))).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    await expect(verify(await kc.mintAccessToken({}, { signWithForeignKey: true, kid: "not-published" }))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });
});

describe("introspection and key rotation", () => {
  it("introspects JWT access tokens for confidential clients", async () => {
    const token = (await kc.clientCredentialsToken("device-gw-1", "gw-secret")).access_token;
    const introspect = (t: string, auth: string) =>
      fetch(kc.endpoints.introspection, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
        body: new URLSearchParams({ token: t }),
      });
    const active = await introspect(token, "automation:auto-secret");
    expect(await active.json()).toMatchObject({ active: true, client_id: "device-gw-1", tenant: "acme", username: "service-account-device-gw-1" });
    expect(await (await introspect(await kc.mintAccessToken({}, { expiresIn: -5 }), "automation:auto-secret")).json()).toEqual({ active: false });
    expect((await introspect(token, "automation:wrong")).status).toBe(401);
  });

  it("publishes a rotated key next to the old one and signs new tokens with it", async () => {
    const old = (await kc.clientCredentialsToken("device-gw-1", "gw-secret")).access_token;
    const oldKid = kc.signingKeyId;
    const newKid = await kc.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);

    const kids = ((await (await fetch(kc.endpoints.jwks)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));

    const fresh = (await kc.clientCredentialsToken("device-gw-1", "gw-secret")).access_token;
    expect(decodeProtectedHeader(fresh).kid).toBe(newKid);
    for (const t of [old, fresh]) await expect(jwtVerify(t, jwks(), { issuer: kc.issuer, audience: "halyard-api" })).resolves.toBeTruthy();
    // Sessions and refresh tokens survive the provider rebuild.
    expect((await kc.authorizationCodeLogin({ clientId: "halyard-console", username: "alice", password: "alice-pw" })).access_token).toBeTruthy();
  });
});

it("exports TokenRequestError", () => {
  expect(new TokenRequestError(400, "invalid_grant").message).toContain("invalid_grant");
});
