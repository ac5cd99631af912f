import type { KeycloakLikeClient, KeycloakLikeProviderOptions, KeycloakLikeUser, ServiceAccountConfig } from "./types.ts";

/**
 * Provider options read from a Keycloak realm export (the JSON that
 * `kc.sh export` writes and `kc.sh start --import-realm` reads), so that tests
 * run against the clients, secrets, mappers, roles and groups of the realm a
 * deployment really imports (docker/keycloak/halyard-realm.json) instead of a
 * hand-written copy that can drift from it.
 *
 * Only what the provider reproduces is accepted. A realm that relies on
 * anything else (another mapper, a flow the provider does not offer, a groups
 * claim without full paths, a client scope list without `basic` or `roles`)
 * throws, naming the client, rather than being half-honoured: a test that
 * passes here then says something about what Keycloak will send.
 *
 * Keycloak resolves `${VAR}` placeholders at import; resolve them before
 * calling (an unresolved secret or URL throws).
 */

/** The parts of Keycloak's RealmRepresentation this reads; other fields are ignored. */
export interface RealmExport {
  realm: string;
  enabled?: boolean;
  accessTokenLifespan?: number;
  roles?: { realm?: { name: string }[] };
  groups?: RealmGroup[];
  clients?: RealmClient[];
  users?: RealmUser[];
}

export interface RealmGroup {
  name: string;
  path?: string;
  realmRoles?: string[];
  subGroups?: RealmGroup[];
}

export interface RealmProtocolMapper {
  name: string;
  protocol?: string;
  protocolMapper: string;
  config?: Record<string, string>;
}

export interface RealmClient {
  clientId: string;
  enabled?: boolean;
  publicClient?: boolean;
  bearerOnly?: boolean;
  clientAuthenticatorType?: string;
  secret?: string;
  redirectUris?: string[];
  webOrigins?: string[];
  standardFlowEnabled?: boolean;
  implicitFlowEnabled?: boolean;
  directAccessGrantsEnabled?: boolean;
  serviceAccountsEnabled?: boolean;
  attributes?: Record<string, string>;
  protocolMappers?: RealmProtocolMapper[];
  defaultClientScopes?: string[];
}

export interface RealmUser {
  username: string;
  enabled?: boolean;
  email?: string;
  firstName?: string;
  lastName?: string;
  realmRoles?: string[];
  clientRoles?: Record<string, string[]>;
  groups?: string[];
  credentials?: { type?: string; value?: string }[];
  /** Set on the user Keycloak keeps for a client's service account. */
  serviceAccountClientId?: string;
}

/** Everything but the realm's own content; `users` are added to the realm's (e.g. users of a federated directory). */
export type RealmProviderOverrides = Omit<KeycloakLikeProviderOptions, "realm" | "clients">;

/** Scopes whose mappers the provider always applies: `basic` gives `sub`, `roles` gives `realm_access`/`resource_access`. */
const REQUIRED_DEFAULT_SCOPES = ["basic", "roles"];

function fail(message: string): never {
  throw new Error(`providerOptionsFromRealm: ${message}`);
}

function isTrue(value: string | undefined): boolean {
  return value === "true";
}

function hasPlaceholder(value: string | undefined): boolean {
  return value !== undefined && /\$\{[^}]*\}/.test(value);
}

/** Keycloak's hardcoded-claim mapper types its value by `jsonType.label`. */
function typedClaimValue(client: string, mapper: RealmProtocolMapper): unknown {
  const raw = mapper.config?.["claim.value"] ?? "";
  switch (mapper.config?.["jsonType.label"] ?? "String") {
    case "String":
      return raw;
    case "long":
    case "int": {
      const n = Number(raw);
      if (!Number.isInteger(n)) fail(`client ${client}: mapper "${mapper.name}" value ${JSON.stringify(raw)} is not an integer`);
      return n;
    }
    case "boolean":
      return raw === "true";
    case "JSON":
      return JSON.parse(raw) as unknown;
    default:
      return fail(`client ${client}: mapper "${mapper.name}" has a claim type the provider does not emulate`);
  }
}

/** Group paths of the realm, each with the realm roles it grants (its own and its parents', as Keycloak inherits them). */
function groupRoles(groups: RealmGroup[] | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (list: RealmGroup[], parentPath: string, inherited: string[]) => {
    for (const g of list) {
      const path = `${parentPath}/${g.name}`;
      if (g.path !== undefined && g.path !== path) fail(`group ${g.name}: path ${g.path} does not match its place in the tree (${path})`);
      const roles = [...inherited, ...(g.realmRoles ?? [])];
      out.set(path, roles);
      walk(g.subGroups ?? [], path, roles);
    }
  };
  walk(groups ?? [], "", []);
  return out;
}

export function providerOptionsFromRealm(realmExport: unknown, overrides: RealmProviderOverrides = {}): KeycloakLikeProviderOptions {
  if (realmExport === null || typeof realmExport !== "object" || typeof (realmExport as RealmExport).realm !== "string") {
    fail("not a realm export (no `realm` name)");
  }
  const rep = realmExport as RealmExport;
  if (rep.enabled === false) fail(`realm ${rep.realm} is disabled`);

  const realmRoles = new Set([`default-roles-${rep.realm}`, "offline_access", "uma_authorization", ...(rep.roles?.realm ?? []).map((r) => r.name)]);
  const groups = groupRoles(rep.groups);
  const clientIds = new Set((rep.clients ?? []).map((c) => c.clientId));

  /** Roles and groups of a user or service account, checked against the realm and widened by group roles. */
  function membership(who: string, s: { realmRoles?: string[]; clientRoles?: Record<string, string[]>; groups?: string[] }): ServiceAccountConfig {
    for (const role of s.realmRoles ?? []) if (!realmRoles.has(role)) fail(`${who}: realm role ${role} is not defined in realm ${rep.realm}`);
    for (const cid of Object.keys(s.clientRoles ?? {})) if (!clientIds.has(cid) && cid !== "account") fail(`${who}: roles of unknown client ${cid}`);
    const fromGroups: string[] = [];
    for (const path of s.groups ?? []) {
      const roles = groups.get(path);
      if (!roles) fail(`${who}: group ${path} does not exist in realm ${rep.realm}`);
      fromGroups.push(...roles);
    }
    return {
      realmRoles: [...new Set([...(s.realmRoles ?? []), ...fromGroups])],
      ...(s.clientRoles ? { clientRoles: s.clientRoles } : {}),
      ...(s.groups ? { groups: [...s.groups] } : {}),
    };
  }

  const bearerOnly = (rep.clients ?? []).filter((c) => c.bearerOnly).map((c) => c.clientId);
  const apiAudience = overrides.apiAudience ?? (bearerOnly.length === 1 ? bearerOnly[0] : undefined);

  const clients: KeycloakLikeClient[] = [];
  for (const c of rep.clients ?? []) {
    const id = c.clientId;
    if (c.enabled === false || c.bearerOnly) continue;
    if ((c.protocolMappers ?? []).some((m) => (m.protocol ?? "openid-connect") !== "openid-connect")) fail(`client ${id}: only openid-connect clients are emulated`);
    if (c.implicitFlowEnabled) fail(`client ${id}: the implicit flow is not emulated`);
    if (c.directAccessGrantsEnabled) fail(`client ${id}: direct access grants (password grant) are not emulated`);
    const redirectUris = c.standardFlowEnabled === false ? [] : (c.redirectUris ?? []);
    const standardFlow = redirectUris.length > 0;
    const serviceAccounts = c.serviceAccountsEnabled === true;
    if (!standardFlow && !serviceAccounts) continue; // no flow issues tokens to it
    for (const uri of redirectUris) {
      if (hasPlaceholder(uri)) fail(`client ${id}: redirect URI ${uri} has an unresolved placeholder`);
      if (uri.includes("*")) fail(`client ${id}: wildcard redirect URI ${uri}: the provider matches redirect URIs exactly`);
    }
    if (c.defaultClientScopes) {
      for (const scope of REQUIRED_DEFAULT_SCOPES) {
        if (!c.defaultClientScopes.includes(scope)) fail(`client ${id}: default client scope "${scope}" is missing; Keycloak would leave out claims the provider always sends`);
      }
    }
    if (!c.publicClient) {
      if (!c.secret) fail(`client ${id}: a confidential client needs its secret in the export`);
      if (hasPlaceholder(c.secret)) fail(`client ${id}: secret has an unresolved placeholder`);
      if ((c.clientAuthenticatorType ?? "client-secret") !== "client-secret") fail(`client ${id}: only client-secret authentication is emulated`);
    }

    const audience: string[] = [];
    const extraClaims: Record<string, unknown> = {};
    let tenant: string | undefined;
    let groupsClaim = false;
    for (const m of c.protocolMappers ?? []) {
      const cfg = m.config ?? {};
      switch (m.protocolMapper) {
        case "oidc-audience-mapper": {
          if (!isTrue(cfg["access.token.claim"])) break;
          const aud = cfg["included.client.audience"] || cfg["included.custom.audience"];
          if (!aud) fail(`client ${id}: audience mapper "${m.name}" names no audience`);
          if (cfg["included.client.audience"] && !clientIds.has(aud)) fail(`client ${id}: audience mapper "${m.name}" names unknown client ${aud}`);
          audience.push(aud);
          break;
        }
        case "oidc-hardcoded-claim-mapper": {
          if (!isTrue(cfg["access.token.claim"])) break;
          const name = cfg["claim.name"] ?? "";
          if (!name || name.includes(".")) fail(`client ${id}: mapper "${m.name}" needs a plain claim name`);
          const value = typedClaimValue(id, m);
          extraClaims[name] = value;
          if (name === "tenant" && typeof value === "string") tenant = value;
          break;
        }
        case "oidc-group-membership-mapper":
          if (cfg["claim.name"] !== "groups" || !isTrue(cfg["full.path"]) || !isTrue(cfg["access.token.claim"])) {
            fail(`client ${id}: group mapper "${m.name}" must put full paths in the access token's "groups" claim, as the provider does`);
          }
          groupsClaim = true;
          break;
        default:
          fail(`client ${id}: protocol mapper ${m.protocolMapper} ("${m.name}") is not emulated`);
      }
    }

    const client: KeycloakLikeClient = { clientId: id, audience };
    if (c.publicClient) client.publicClient = true;
    else client.secret = c.secret!;
    if (standardFlow) {
      if (!groupsClaim) fail(`client ${id}: users sign in through it but no group mapper emits "groups", which the provider always sends`);
      client.redirectUris = [...redirectUris];
      const logout = (c.attributes?.["post.logout.redirect.uris"] ?? "").split("##").filter((u) => u && u !== "+");
      // Keycloak matches a trailing /* as a prefix; the provider matches exactly, so it gets the base.
      if (logout.length) client.postLogoutRedirectUris = logout.map((u) => (u.endsWith("/*") ? u.slice(0, -1) : u));
      const origins = (c.webOrigins ?? []).filter((o) => o !== "+");
      if (origins.some((o) => o === "*" || hasPlaceholder(o))) fail(`client ${id}: web origins must be concrete`);
      if (origins.length) client.webOrigins = origins;
    }
    if (serviceAccounts) {
      client.serviceAccountsEnabled = true;
      const sa = (rep.users ?? []).find((u) => u.serviceAccountClientId === id);
      const saMembership = membership(`service account of ${id}`, sa ?? {});
      if (saMembership.groups?.length && !groupsClaim) fail(`client ${id}: its service account has groups but no group mapper emits them`);
      client.serviceAccount = saMembership;
    }
    if (tenant !== undefined) client.tenant = tenant;
    if (Object.keys(extraClaims).length) client.extraClaims = extraClaims;
    clients.push(client);
  }

  const users: KeycloakLikeUser[] = [];
  for (const u of rep.users ?? []) {
    if (u.serviceAccountClientId || u.enabled === false) continue;
    const password = u.credentials?.find((cr) => (cr.type ?? "password") === "password")?.value;
    if (!password) fail(`user ${u.username}: only users with a plain password credential are emulated`);
    users.push({
      username: u.username,
      password,
      ...(u.email ? { email: u.email } : {}),
      ...(u.firstName ? { firstName: u.firstName } : {}),
      ...(u.lastName ? { lastName: u.lastName } : {}),
      ...membership(`user ${u.username}`, u),
    });
  }
  for (const u of overrides.users ?? []) users.push({ ...u, ...membership(`user ${u.username}`, u) });

  return {
    ...overrides,
    realm: rep.realm,
    ...(rep.accessTokenLifespan !== undefined && overrides.accessTokenLifespanSec === undefined ? { accessTokenLifespanSec: rep.accessTokenLifespan } : {}),
    ...(apiAudience !== undefined ? { apiAudience } : {}),
    clients,
    users,
  };
}
