/** A realm user, shaped after Keycloak's user representation (realm export JSON). */
export interface KeycloakLikeUser {
  username: string;
  password: string;
  /** Keycloak's user id, which becomes `sub`. Defaults to a UUID derived from realm and username. */
  id?: string;
  email?: string;
  emailVerified?: boolean;
  firstName?: string;
  lastName?: string;
  realmRoles?: string[];
  /** Client roles by client id, emitted under `resource_access.<clientId>.roles`. */
  clientRoles?: Record<string, string[]>;
  /** Full group paths as Keycloak's group-membership mapper emits them, e.g. `/tenants/acme/tenant_admin`. */
  groups?: string[];
}

/** Roles and groups of a client's service account (the user Keycloak creates for client_credentials). */
export interface ServiceAccountConfig {
  realmRoles?: string[];
  clientRoles?: Record<string, string[]>;
  groups?: string[];
}

export interface KeycloakLikeClient {
  clientId: string;
  /** Keycloak "Client authentication: off": no secret, token_endpoint_auth_method none, PKCE required. */
  publicClient?: boolean;
  /** Required unless publicClient. */
  secret?: string;
  /** Non-empty enables the standard flow (authorization_code + refresh_token). */
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  /** Origins allowed to call the token endpoint from a browser; defaults to the redirect URIs' origins. */
  webOrigins?: string[];
  /** Keycloak "Service accounts roles": enables client_credentials. */
  serviceAccountsEnabled?: boolean;
  serviceAccount?: ServiceAccountConfig;
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post";
  /** Values an Audience mapper adds to `aud`; defaults to the realm's apiAudience. */
  audience?: string[];
  /** Hardcoded-claim mapper for a `tenant` claim (service-account tokens). */
  tenant?: string;
  /** Further hardcoded-claim mappers, added to every access token issued to this client. */
  extraClaims?: Record<string, unknown>;
}

export interface KeycloakLikeProviderOptions {
  /** Realm name; the issuer is `http://127.0.0.1:<port>/realms/<realm>`. Default "halyard". */
  realm?: string;
  /** Default 0: a free port. */
  port?: number;
  users?: KeycloakLikeUser[];
  clients?: KeycloakLikeClient[];
  /** Client id of the bearer-only client that stands for the admin API. Default "halyard-api". */
  apiAudience?: string;
  /** Keycloak's "Access Token Lifespan". Default 300. */
  accessTokenLifespanSec?: number;
  /**
   * Emulate what a fresh Keycloak realm adds on its own: realm roles `default-roles-<realm>`,
   * `offline_access`, `uma_authorization`, client roles of the `account` client and therefore
   * `account` in `aud`. Default true.
   */
  keycloakDefaults?: boolean;
  /** Called with provider-side server errors; default prints them to stderr. */
  onServerError?: (err: Error) => void;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
  id_token?: string;
  refresh_token?: string;
  [key: string]: unknown;
}

export interface MintOptions {
  /** Seconds from now to `exp`; negative gives an already expired token. Default: the realm's lifespan. */
  expiresIn?: number;
  audience?: string | string[];
  issuer?: string;
  /** Sign with a key the provider never published (RFC 7515 signature then fails to verify). */
  signWithForeignKey?: boolean;
  /** Header `kid`; defaults to the provider's current signing key id (also with a foreign key). */
  kid?: string;
}

export interface AuthorizationCodeLoginOptions {
  clientId: string;
  username: string;
  password: string;
  /** Default: the client's first redirect URI. */
  redirectUri?: string;
  /** Default "openid profile email". */
  scope?: string;
  /** For confidential clients using the standard flow. */
  clientSecret?: string;
}

export interface ProviderEndpoints {
  discovery: string;
  authorization: string;
  token: string;
  jwks: string;
  userinfo: string;
  logout: string;
  introspection: string;
  revocation: string;
}
