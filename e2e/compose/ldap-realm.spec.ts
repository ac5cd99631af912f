// The identity chain of the compose deployment, minus Keycloak itself:
//   docker/ldap/bootstrap.ldif, loaded by the openldap image's own start script
//   into a real slapd, searched the way the realm's LDAP federation searches;
//   -> the roles and groups Keycloak's mappers would give each user;
//   -> tokens from the Keycloak-shaped test provider configured from the very
//      realm file (providerOptionsFromRealm);
//   -> the broker's OidcVerifier, which must read them as the intended people.
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerOptionsFromRealm, startKeycloakLikeProvider, TokenRequestError, type KeycloakLikeProvider, type RealmExport } from "@halyard/oidc-testing";
import { OidcVerifier, type Principal } from "../../apps/broker/src/modules/auth/oidc-verifier.ts";
import {
  composeConfig,
  first,
  ldapComponent,
  realmUsersFromDirectory,
  resolvedRealm,
  SAMPLE_PASSWORD,
  serviceEnv,
  startDirectory,
  type Directory,
  type DirectoryUser,
} from "./helpers.ts";

let realm: RealmExport;
let dir: Directory;
let users: DirectoryUser[];
let kc: KeycloakLikeProvider;
let verifier: OidcVerifier;
let consoleSecret: string;
let devicesSecret: string;

beforeAll(async () => {
  const compose = composeConfig();
  const kcEnv = serviceEnv(compose, "keycloak");
  realm = resolvedRealm(kcEnv);
  consoleSecret = kcEnv.REALM_CONSOLE_CLIENT_SECRET!;
  devicesSecret = kcEnv.REALM_DEVICES_CLIENT_SECRET!;
  dir = await startDirectory(serviceEnv(compose, "openldap").LDAP_ADMIN_PASSWORD!);
  users = realmUsersFromDirectory(realm, dir, SAMPLE_PASSWORD);
  kc = await startKeycloakLikeProvider(providerOptionsFromRealm(realm, { users }));
  verifier = new OidcVerifier({ issuer: kc.issuer, audience: serviceEnv(compose, "broker").HALYARD_OIDC_AUDIENCE!, jwksCooldownSec: 0 });
});

afterAll(async () => {
  await kc?.stop();
  await dir?.stop();
});

function user(name: string): DirectoryUser {
  const u = users.find((x) => x.username === name);
  if (!u) throw new Error(`directory has no user ${name}`);
  return u;
}

async function signIn(username: string): Promise<{ token: string; principal: Principal }> {
  const tokens = await kc.authorizationCodeLogin({ clientId: "halyard-console", username, password: SAMPLE_PASSWORD, clientSecret: consoleSecret });
  return { token: tokens.access_token, principal: await verifier.verify(tokens.access_token) };
}

describe("the sample directory, as the realm's LDAP federation reads it", () => {
  it("accepts the bind DN and password the realm binds with (the compose file's LDAP_ADMIN_PASSWORD)", () => {
    const { provider } = ldapComponent(realm);
    expect(dir.bind(first(provider.config, "bindDn")!, first(provider.config, "bindCredential")!)).toBe(true);
    expect(dir.bind(first(provider.config, "bindDn")!, "not-the-password")).toBe(false);
  });

  it("finds every sample user with the realm's user search, with the attributes its mappers need", () => {
    expect(users.map((u) => u.username).sort()).toEqual(["alice", "bob", "carol", "dave", "erin"]);
    for (const u of users) {
      expect(u.ldapId, u.username).toMatch(/^[0-9a-f-]{36}$/);
      expect(u.email, u.username).toMatch(/@/);
      expect(u.lastName, u.username).toBeTruthy();
    }
  });

  it("lets each sample user sign in with the documented password, and no one with another", () => {
    for (const u of users) {
      expect(dir.bind(u.dn, SAMPLE_PASSWORD), u.username).toBe(true);
      expect(dir.bind(u.dn, `${SAMPLE_PASSWORD}x`), u.username).toBe(false);
    }
  });

  it("hides the directory from anonymous clients", () => {
    const { provider } = ldapComponent(realm);
    expect(() => dir.search({ bindDn: "", password: "", base: first(provider.config, "usersDn")!, scope: "one", filter: "(uid=*)" })).not.toThrow();
    expect(dir.search({ bindDn: "", password: "", base: first(provider.config, "usersDn")!, scope: "one", filter: "(uid=*)" })).toEqual([]);
  });

  it("gives each user the realm roles and tenant groups the README promises", () => {
    const memberships = Object.fromEntries(users.map((u) => [u.username, { roles: u.realmRoles, groups: u.groups }]));
    expect(memberships).toEqual({
      alice: { roles: ["platform_admin"], groups: [] },
      bob: { roles: [], groups: ["/tenants/acme/tenant_operator"] },
      carol: { roles: [], groups: ["/tenants/acme/tenant_viewer"] },
      dave: { roles: [], groups: ["/tenants/acme/tenant_admin"] },
      erin: { roles: [], groups: ["/tenants/globex/tenant_admin"] },
    });
  });
});

describe("tokens shaped by the realm, read by the broker", () => {
  it("are issued under /realms/halyard with halyard-api in the audience and full group paths", async () => {
    const { token } = await signIn("bob");
    const claims = decodeJwt(token);
    expect(new URL(String(claims.iss)).pathname).toBe("/realms/halyard");
    expect([claims.aud].flat()).toContain("halyard-api");
    expect(claims.azp).toBe("halyard-console");
    expect(claims.groups).toEqual(["/tenants/acme/tenant_operator"]);
    expect((claims.realm_access as { roles: string[] }).roles).toContain("default-roles-halyard");
    expect(claims.preferred_username).toBe("bob");
    expect(claims.email).toBe(user("bob").email);
  });

  it("make alice a platform administrator", async () => {
    const { principal } = await signIn("alice");
    expect(principal).toMatchObject({ kind: "user", username: "alice", platformAdmin: true });
    expect([...principal.tenantRoles]).toEqual([]);
  });

  it("give bob, carol and dave their role in acme only, and erin hers in globex only", async () => {
    const roles = async (name: string) => [...(await signIn(name)).principal.tenantRoles];
    expect(await roles("bob")).toEqual([["acme", "tenant_operator"]]);
    expect(await roles("carol")).toEqual([["acme", "tenant_viewer"]]);
    expect(await roles("dave")).toEqual([["acme", "tenant_admin"]]);
    expect(await roles("erin")).toEqual([["globex", "tenant_admin"]]);
    expect((await signIn("erin")).principal.platformAdmin).toBe(false);
  });

  it("refuse a wrong password at the login form", async () => {
    await expect(kc.authorizationCodeLogin({ clientId: "halyard-console", username: "bob", password: "wrong", clientSecret: consoleSecret })).rejects.toThrow(/Invalid username or password/);
  });

  it("give the sample device client a token the broker reads as a client of tenant acme", async () => {
    const { access_token } = await kc.clientCredentialsToken("halyard-devices", devicesSecret);
    const principal = await verifier.verify(access_token);
    expect(principal).toMatchObject({ kind: "client", clientId: "halyard-devices", tenantClaim: "acme", platformAdmin: false });
    expect([...principal.tenantRoles]).toEqual([]);
    expect([decodeJwt(access_token).aud].flat()).toContain("halyard-api");
  });

  it("refuse the device client with a wrong secret, and the console client the client_credentials grant", async () => {
    await expect(kc.clientCredentialsToken("halyard-devices", "wrong")).rejects.toBeInstanceOf(TokenRequestError);
    await expect(kc.clientCredentialsToken("halyard-console", consoleSecret)).rejects.toBeInstanceOf(TokenRequestError);
  });
});

describe("providerOptionsFromRealm keeps to what Keycloak would do", () => {
  it("refuses users in groups or roles the realm does not define", () => {
    expect(() => providerOptionsFromRealm(realm, { users: [{ username: "x", password: "p", groups: ["/tenants/initech/tenant_admin"] }] })).toThrow(/group \/tenants\/initech\/tenant_admin does not exist/);
    expect(() => providerOptionsFromRealm(realm, { users: [{ username: "x", password: "p", realmRoles: ["root"] }] })).toThrow(/realm role root is not defined/);
  });

  it("refuses a realm whose placeholders were not resolved", async () => {
    const { readFileSync } = await import("node:fs");
    const { realmFile } = await import("./helpers.ts");
    const unresolved = JSON.parse(readFileSync(realmFile, "utf8")) as RealmExport;
    expect(() => providerOptionsFromRealm(unresolved)).toThrow(/unresolved placeholder/);
  });
});
