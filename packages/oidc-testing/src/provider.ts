import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK, type JWTPayload } from "jose";
import Provider, { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import { CookieJar, TokenRequestError, browse, pkcePair, tokenRequest } from "./http-client.ts";
import { createMemoryAdapterFactory } from "./memory-adapter.ts";
import { loginPage, logoutPage, messagePage } from "./pages.ts";
import type {
  AuthorizationCodeLoginOptions,
  KeycloakLikeClient,
  KeycloakLikeProviderOptions,
  KeycloakLikeUser,
  MintOptions,
  ProviderEndpoints,
  TokenResponse,
} from "./types.ts";

export interface KeycloakLikeProvider {
  readonly issuer: string;
  readonly realm: string;
  readonly port: number;
  readonly apiAudience: string;
  readonly endpoints: ProviderEndpoints;
  /** kid of the key that currently signs tokens. */
  readonly signingKeyId: string;
  stop(): Promise<void>;
  /** A real client_credentials request to the token endpoint; `extra` adds form parameters. */
  clientCredentialsToken(clientId: string, secret: string, extra?: Record<string, string>): Promise<TokenResponse>;
  /** Authorization Code + PKCE through the HTML login form, the way a browser would. */
  authorizationCodeLogin(opts: AuthorizationCodeLoginOptions): Promise<TokenResponse>;
  /** Signs `claims` (over defaults for iss, aud, iat, exp, jti, sub, typ) without going through a grant. */
  mintAccessToken(claims?: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  /** Publishes a new key and signs with it from now on; the old key stays published. Returns the new kid. */
  rotateSigningKey(): Promise<string>;
  /** Keycloak user id (`sub`) of a configured user. */
  userId(username: string): string;
}

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

interface SigningKey {
  kid: string;
  privateKey: PrivateKey;
  privateJwk: JWK;
  publicJwk: JWK;
}

interface ResolvedUser extends KeycloakLikeUser {
  id: string;
}

interface Subject {
  realmRoles: string[];
  clientRoles: Record<string, string[]>;
  groups: string[];
}

/** Internal resource indicator (RFC 8707 needs an absolute URI); the `aud` it carries is rewritten per client. */
const API_RESOURCE = "urn:halyard:oidc-testing:api";
const OIDC_SCOPES = "openid profile email offline_access";
/** Keycloak's default client scopes "profile email" reach service-account tokens even when not requested. */
const SERVICE_ACCOUNT_DEFAULT_SCOPE = "profile email";
const ACCOUNT_CLIENT_ROLES = ["manage-account", "manage-account-links", "view-profile"];

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const meta = { kid, alg: "RS256", use: "sig" };
  return { kid, privateKey, privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwk: { ...pub, ...meta } };
}

/** Deterministic so that a user keeps its `sub` across provider restarts, like a persisted Keycloak realm. */
function stableUuid(...parts: string[]): string {
  const h = createHash("sha256").update(parts.join("\0")).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function uniq(values: string[]): string[] {
  return [...new Set(values)];
}

function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, status: number, body: string, type = "text/html; charset=utf-8", headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), "application/json", headers);
}

function bearerToken(req: http.IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  return m?.[1];
}

function isJwt(token: string): boolean {
  try {
    decodeProtectedHeader(token);
    return token.split(".").length === 3;
  } catch {
    return false;
  }
}

export async function startKeycloakLikeProvider(opts: KeycloakLikeProviderOptions = {}): Promise<KeycloakLikeProvider> {
  const realm = opts.realm ?? "halyard";
  const apiAudience = opts.apiAudience ?? "halyard-api";
  const lifespan = opts.accessTokenLifespanSec ?? 300;
  const keycloakDefaults = opts.keycloakDefaults ?? true;
  const onServerError = opts.onServerError ?? ((err: Error) => console.error("[oidc-testing] server_error", err));
  const prefix = `/realms/${encodeURIComponent(realm)}`;
  const kc = "/protocol/openid-connect";

  const users = new Map<string, ResolvedUser>();
  for (const u of opts.users ?? []) {
    // Keycloak stores usernames lower-cased.
    const username = u.username.toLowerCase();
    users.set(username, { ...u, username, id: u.id ?? stableUuid(realm, username) });
  }
  const usersById = new Map([...users.values()].map((u) => [u.id, u]));
  const clients = new Map<string, KeycloakLikeClient>();
  for (const c of opts.clients ?? []) {
    if (!c.publicClient && !c.secret) throw new Error(`client ${c.clientId}: a confidential client needs a secret`);
    if (!c.redirectUris?.length && !c.serviceAccountsEnabled) throw new Error(`client ${c.clientId}: enable redirectUris and/or serviceAccountsEnabled`);
    if (c.publicClient && c.serviceAccountsEnabled) throw new Error(`client ${c.clientId}: public clients cannot have service accounts`);
    clients.set(c.clientId, c);
  }

  function findUser(login: string): ResolvedUser | undefined {
    const l = login.trim().toLowerCase();
    return users.get(l) ?? [...users.values()].find((u) => u.email?.toLowerCase() === l);
  }

  function serviceAccountId(clientId: string): string {
    return stableUuid(realm, "service-account", clientId);
  }

  function subjectOf(s: { realmRoles?: string[]; clientRoles?: Record<string, string[]>; groups?: string[] }): Subject {
    const realmRoles = uniq([...(keycloakDefaults ? [`default-roles-${realm}`, "offline_access", "uma_authorization"] : []), ...(s.realmRoles ?? [])]);
    const clientRoles: Record<string, string[]> = keycloakDefaults ? { account: [...ACCOUNT_CLIENT_ROLES] } : {};
    for (const [cid, roles] of Object.entries(s.clientRoles ?? {})) clientRoles[cid] = uniq([...(clientRoles[cid] ?? []), ...roles]);
    return { realmRoles, clientRoles, groups: s.groups ?? [] };
  }

  function audienceOf(client: KeycloakLikeClient | undefined, subject: Subject): string | string[] {
    const aud = [...(client?.audience ?? [apiAudience])];
    // Keycloak puts every client the subject holds roles of into `aud`; `account` is the usual one.
    if (keycloakDefaults && subject.clientRoles.account) aud.push("account");
    const list = uniq(aud);
    // RFC 7519 §4.1.3: a single audience may be a plain string, which is what Keycloak emits.
    return list.length === 1 ? list[0]! : list;
  }

  function profileClaims(u: ResolvedUser): Record<string, unknown> {
    const name = [u.firstName, u.lastName].filter(Boolean).join(" ");
    return {
      sub: u.id,
      preferred_username: u.username,
      email: u.email,
      email_verified: u.email ? (u.emailVerified ?? true) : undefined,
      name: name || undefined,
      given_name: u.firstName,
      family_name: u.lastName,
      groups: u.groups?.length ? u.groups : undefined,
    };
  }

  /** Shapes every JWT access token like Keycloak's default mappers plus the realm's Audience and group mappers. */
  function keycloakClaims(token: { clientId?: string; accountId?: string }, payload: Record<string, unknown>): void {
    const clientId = token.clientId ?? "";
    const client = clients.get(clientId);
    const user = token.accountId ? usersById.get(token.accountId) : undefined;
    const subject = subjectOf(user ?? client?.serviceAccount ?? {});
    payload.typ = "Bearer";
    payload.azp = clientId;
    payload.aud = audienceOf(client, subject);
    payload.realm_access = { roles: subject.realmRoles };
    payload.resource_access = Object.fromEntries(Object.entries(subject.clientRoles).map(([cid, roles]) => [cid, { roles }]));
    if (subject.groups.length) payload.groups = subject.groups;
    if (user) {
      Object.assign(payload, profileClaims(user), { acr: "1" });
      delete payload.client_id;
    } else {
      payload.sub = serviceAccountId(clientId);
      payload.preferred_username = `service-account-${clientId}`;
      payload.email_verified = false;
      payload.client_id = clientId;
      payload.scope ??= SERVICE_ACCOUNT_DEFAULT_SCOPE;
      if (client?.tenant !== undefined) payload.tenant = client.tenant;
    }
    Object.assign(payload, client?.extraClaims ?? {});
  }

  function clientMetadata(c: KeycloakLikeClient): ClientMetadata {
    const standardFlow = (c.redirectUris?.length ?? 0) > 0;
    return {
      client_id: c.clientId,
      ...(c.publicClient ? {} : { client_secret: c.secret }),
      token_endpoint_auth_method: c.publicClient ? "none" : (c.tokenEndpointAuthMethod ?? "client_secret_basic"),
      grant_types: [...(standardFlow ? ["authorization_code", "refresh_token"] : []), ...(c.serviceAccountsEnabled ? ["client_credentials"] : [])],
      response_types: standardFlow ? ["code"] : [],
      redirect_uris: c.redirectUris ?? [],
      post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
    };
  }

  function allowedOrigins(c: KeycloakLikeClient): string[] {
    return c.webOrigins ?? (c.redirectUris ?? []).map((u) => new URL(u).origin);
  }

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}${prefix}`;
  const endpoints: ProviderEndpoints = {
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorization: `${issuer}${kc}/auth`,
    token: `${issuer}${kc}/token`,
    jwks: `${issuer}${kc}/certs`,
    userinfo: `${issuer}${kc}/userinfo`,
    logout: `${issuer}${kc}/logout`,
    introspection: `${issuer}${kc}/token/introspect`,
    revocation: `${issuer}${kc}/revoke`,
  };

  const cookieKeys = [randomBytes(32).toString("base64url")];
  const adapter = createMemoryAdapterFactory();
  let keys: SigningKey[] = [await newSigningKey()];
  let foreignKey: SigningKey | undefined;

  function buildConfiguration(): Configuration {
    return {
      adapter,
      clients: [...clients.values()].map(clientMetadata),
      responseTypes: ["code"],
      jwks: { keys: keys.map((k) => k.privateJwk) } as Configuration["jwks"],
      cookies: { keys: cookieKeys },
      routes: {
        authorization: `${kc}/auth`,
        token: `${kc}/token`,
        jwks: `${kc}/certs`,
        userinfo: `${kc}/userinfo`,
        end_session: `${kc}/logout`,
        introspection: `${kc}/token/introspect`,
        revocation: `${kc}/revoke`,
        device_authorization: `${kc}/auth/device`,
        pushed_authorization_request: `${kc}/ext/par/request`,
        backchannel_authentication: `${kc}/ext/ciba/auth`,
      },
      scopes: ["openid", "offline_access", "profile", "email"],
      claims: {
        // Keycloak's group-membership mapper adds `groups` to ID tokens by default.
        openid: ["sub", "groups"],
        profile: ["preferred_username", "name", "given_name", "family_name"],
        email: ["email", "email_verified"],
      },
      // Keycloak returns profile claims in the ID token, not only via userinfo.
      conformIdTokenClaims: false,
      findAccount: (_ctx, sub) => {
        const user = usersById.get(sub);
        if (!user) return undefined;
        return { accountId: user.id, claims: () => ({ ...profileClaims(user), sub: user.id }) };
      },
      interactions: {
        url: (_ctx, interaction) => `${prefix}/login-actions/authenticate/${interaction.uid}`,
      },
      // Keycloak's first-party clients don't ask for consent: grant whatever the request asks for.
      loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
        const { oidc } = ctx;
        const clientId = oidc.client!.clientId;
        const grantId = oidc.result?.consent?.grantId ?? oidc.session!.grantIdFor(clientId);
        const grant = (grantId ? await oidc.provider.Grant.find(grantId) : undefined) ?? new oidc.provider.Grant({ clientId, accountId: oidc.account!.accountId });
        grant.addOIDCScope(oidc.requestParamOIDCScopes);
        if (oidc.requestParamClaims.size) grant.addOIDCClaims(oidc.requestParamClaims);
        for (const [indicator, rs] of Object.entries(oidc.resourceServers ?? {})) grant.addResourceScope(indicator, rs.scope);
        await grant.save();
        return grant;
      },
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      clientBasedCORS: (_ctx, requestOrigin, client) => {
        const c = clients.get(client.clientId);
        return !!c && allowedOrigins(c).includes(requestOrigin);
      },
      ttl: {
        AccessToken: lifespan,
        ClientCredentials: lifespan,
        IdToken: lifespan,
        AuthorizationCode: 60,
        RefreshToken: 30 * 60,
        Interaction: 30 * 60,
        Session: 10 * 60 * 60,
        Grant: 10 * 60 * 60,
      },
      formats: {
        customizers: {
          jwt: (_ctx, token, parts) => {
            // Keycloak signs access tokens with header typ "JWT", not RFC 9068's "at+jwt".
            parts.header = { typ: "JWT" };
            keycloakClaims(token as { clientId?: string; accountId?: string }, parts.payload);
          },
        },
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true, allowedPolicy: async () => true },
        revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
        userinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx, form) => {
            ctx.type = "html";
            ctx.body = logoutPage(form, typeof ctx.oidc.params?.id_token_hint === "string");
          },
          postLogoutSuccessSource: (ctx) => {
            ctx.type = "html";
            ctx.body = messagePage("You are logged out", "You are logged out.");
          },
        },
        resourceIndicators: {
          enabled: true,
          // Keycloak knows no resource parameter and always issues JWT access tokens: every request,
          // including a plain client_credentials one, targets the API resource.
          defaultResource: () => API_RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, indicator) => {
            if (indicator !== API_RESOURCE) throw new errors.InvalidTarget();
            return {
              audience: apiAudience,
              scope: OIDC_SCOPES,
              accessTokenFormat: "jwt",
              accessTokenTTL: lifespan,
              jwt: { sign: { alg: "RS256" } },
            };
          },
        },
      },
      renderError: (ctx, out) => {
        ctx.type = "html";
        ctx.body = messagePage("We are sorry...", `${out.error}${out.error_description ? `: ${out.error_description}` : ""}`);
      },
    };
  }

  function buildProvider(): { provider: Provider; callback: http.RequestListener } {
    const provider = new Provider(issuer, buildConfiguration());
    provider.on("server_error", (_ctx: unknown, err: Error) => onServerError(err));
    return { provider, callback: provider.callback() as http.RequestListener };
  }

  let current = buildProvider();

  async function verifyOwnToken(token: string): Promise<JWTPayload> {
    const jwks = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
    const { payload } = await jwtVerify(token, jwks, { issuer, algorithms: ["RS256"] });
    return payload;
  }

  async function loginAction(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { provider } = current;
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      send(res, 400, messagePage("Page has expired", "The login session was not found or has expired. Start again from the application."));
      return;
    }
    const clientId = String(details.params.client_id ?? "");
    const action = `${prefix}/login-actions/authenticate/${details.uid}`;

    if (details.prompt.name !== "login") {
      // Consent normally never prompts (see loadExistingGrant); if it does, accept it as Keycloak would.
      const d = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ clientId, accountId: details.session!.accountId });
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(" "));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(" "));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }

    if (req.method === "GET") {
      send(res, 200, loginPage({ realm, action, clientId }));
      return;
    }
    if (req.method !== "POST") {
      send(res, 405, messagePage("Method not allowed", "Use the login form."));
      return;
    }
    const form = new URLSearchParams(await readBody(req));
    const login = form.get("username") ?? "";
    const user = findUser(login);
    if (!user || !safeEqual(user.password, form.get("password") ?? "")) {
      // Keycloak answers a failed login with 200 and the form again, not with a redirect.
      send(res, 200, loginPage({ realm, action, clientId, username: login, error: "Invalid username or password." }));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
  }

  /**
   * oidc-provider refuses userinfo for access tokens that carry an audience, and Keycloak's always
   * do; so JWT bearer tokens are answered here, anything else goes to oidc-provider.
   */
  async function userinfo(res: http.ServerResponse, token: string): Promise<void> {
    let payload: JWTPayload;
    try {
      payload = await verifyOwnToken(token);
    } catch {
      sendJson(res, 401, { error: "invalid_token", error_description: "Token verification failed" }, { "www-authenticate": 'Bearer error="invalid_token"' });
      return;
    }
    if (!String(payload.scope ?? "").split(" ").includes("openid")) {
      sendJson(res, 403, { error: "insufficient_scope", error_description: "Missing openid scope" }, { "www-authenticate": 'Bearer error="insufficient_scope"' });
      return;
    }
    const user = usersById.get(payload.sub ?? "");
    sendJson(res, 200, user ? profileClaims(user) : { sub: payload.sub, preferred_username: payload.preferred_username, email_verified: false });
  }

  /** RFC 7662 for JWT access tokens, which oidc-provider declines to introspect. */
  async function introspect(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    let id = form.get("client_id") ?? "";
    let secret = form.get("client_secret") ?? "";
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    if (basic) {
      const raw = Buffer.from(basic[1]!, "base64").toString("utf8");
      const colon = raw.indexOf(":");
      id = decodeURIComponent(raw.slice(0, colon));
      secret = decodeURIComponent(raw.slice(colon + 1));
    }
    const client = clients.get(id);
    if (!client?.secret || !safeEqual(client.secret, secret)) {
      sendJson(res, 401, { error: "invalid_client", error_description: "Invalid client or Invalid client credentials" });
      return;
    }
    try {
      const payload = await verifyOwnToken(form.get("token") ?? "");
      sendJson(res, 200, { ...payload, client_id: payload.azp, username: payload.preferred_username, token_type: "Bearer", active: true });
    } catch {
      sendJson(res, 200, { active: false });
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      sendJson(res, 404, { error: "Realm does not exist" });
      return;
    }
    const path = url.pathname.slice(prefix.length);
    if (path.startsWith("/login-actions/authenticate/")) return loginAction(req, res);
    const bearer = bearerToken(req);
    if (path === `${kc}/userinfo` && bearer && isJwt(bearer)) return userinfo(res, bearer);
    if (path === `${kc}/token/introspect` && req.method === "POST") return introspect(req, res);
    // Mounted like an Express sub-app: oidc-provider takes the mount path from originalUrl minus url.
    (req as http.IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
    req.url = req.url!.slice(prefix.length) || "/";
    current.callback(req, res);
  }

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      onServerError(err instanceof Error ? err : new Error(String(err)));
      if (!res.headersSent) send(res, 500, messagePage("Internal error", "Unexpected error"));
      else res.destroy();
    });
  });

  return {
    issuer,
    realm,
    port,
    apiAudience,
    endpoints,
    get signingKeyId() {
      return keys[0]!.kid;
    },

    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },

    async clientCredentialsToken(clientId, secret, extra = {}) {
      const params = new URLSearchParams({ grant_type: "client_credentials", ...extra });
      if (clients.get(clientId)?.tokenEndpointAuthMethod === "client_secret_post") {
        params.set("client_id", clientId);
        params.set("client_secret", secret);
        return tokenRequest(endpoints.token, params);
      }
      return tokenRequest(endpoints.token, params, { id: clientId, secret });
    },

    async authorizationCodeLogin(o) {
      const client = clients.get(o.clientId);
      const redirectUri = o.redirectUri ?? client?.redirectUris?.[0];
      if (!redirectUri) throw new Error(`client ${o.clientId} has no redirect URI`);
      const { verifier, challenge } = pkcePair();
      const state = randomBytes(16).toString("base64url");
      const authUrl = new URL(endpoints.authorization);
      authUrl.search = new URLSearchParams({
        client_id: o.clientId,
        response_type: "code",
        redirect_uri: redirectUri,
        scope: o.scope ?? "openid profile email",
        state,
        nonce: randomBytes(16).toString("base64url"),
        code_challenge: challenge,
        code_challenge_method: "S256",
      }).toString();

      const jar = new CookieJar();
      const atRedirect = (loc: string) => loc.startsWith(redirectUri);
      let step = await browse(jar, authUrl.href, {}, atRedirect);
      if (!step.stoppedAt) {
        const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(step.body)?.[1];
        if (!action) throw new Error(`no login form at ${step.url} (HTTP ${step.status})`);
        const body = new URLSearchParams({ username: o.username, password: o.password });
        step = await browse(jar, new URL(action.replace(/&amp;/g, "&"), step.url).href, { method: "POST", body }, atRedirect);
        if (!step.stoppedAt) {
          const error = /id="input-error"[^>]*>([^<]*)</.exec(step.body)?.[1];
          throw new Error(`login did not complete: ${error ?? `HTTP ${step.status} at ${step.url}`}`);
        }
      }
      const callback = new URL(step.stoppedAt);
      if (callback.searchParams.get("state") !== state) throw new Error("state mismatch in authorization response");
      const code = callback.searchParams.get("code");
      if (!code) throw new Error(`authorization failed: ${callback.searchParams.get("error") ?? "no code"}`);
      const params = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier });
      if (client?.publicClient || !o.clientSecret) {
        params.set("client_id", o.clientId);
        return tokenRequest(endpoints.token, params);
      }
      if (client?.tokenEndpointAuthMethod === "client_secret_post") {
        params.set("client_id", o.clientId);
        params.set("client_secret", o.clientSecret);
        return tokenRequest(endpoints.token, params);
      }
      return tokenRequest(endpoints.token, params, { id: o.clientId, secret: o.clientSecret });
    },

    async mintAccessToken(claims = {}, o = {}) {
      let key = keys[0]!;
      if (o.signWithForeignKey) key = foreignKey ??= await newSigningKey();
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = { jti: randomUUID(), sub: randomUUID(), iat: now, exp: now + lifespan, typ: "Bearer", iss: issuer, aud: apiAudience, ...claims };
      if (o.issuer !== undefined) payload.iss = o.issuer;
      if (o.audience !== undefined) payload.aud = o.audience;
      if (o.expiresIn !== undefined) payload.exp = now + o.expiresIn;
      return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: o.kid ?? keys[0]!.kid }).sign(key.privateKey);
    },

    async rotateSigningKey() {
      keys = [await newSigningKey(), ...keys];
      // oidc-provider fixes its keystore at construction; a new instance over the same in-process
      // adapter and cookie keys keeps sessions, grants and refresh tokens alive.
      current = buildProvider();
      return keys[0]!.kid;
    },

    userId(username) {
      const u = users.get(username.toLowerCase());
      if (!u) throw new Error(`unknown user ${username}`);
      return u.id;
    },
  };
}

export { TokenRequestError };
