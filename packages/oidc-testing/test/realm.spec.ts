import { decodeJwt } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { providerOptionsFromRealm, startKeycloakLikeProvider, type KeycloakLikeProvider, type RealmExport } from "../src/index.ts";

const CALLBACK = "http://127.0.0.1:3999/api/auth/callback";

/** A small realm export in Keycloak's format, with what each mapping needs. */
function sampleRealm(): RealmExport & Record<string, unknown> {
  return {
    realm: "demo",
    enabled: true,
    accessTokenLifespan: 120,
    roles: { realm: [{ name: "platform_admin" }, { name: "auditor" }] },
    groups: [
      { name: "staff", path: "/staff", realmRoles: ["auditor"], subGroups: [{ name: "night", path: "/staff/night", subGroups: [] }] },
      { name: "tenants", path: "/tenants", subGroups: [{ name: "acme", path: "/tenants/acme", subGroups: [{ name: "tenant_viewer", path: "/tenants/acme/tenant_viewer" }] }] },
    ],
    clients: [
      {
        clientId: "web",
        publicClient: false,
        secret: "web-secret",
        redirectUris: [CALLBACK],
        webOrigins: ["+"],
        standardFlowEnabled: true,
        attributes: { "pkce.code.challenge.method": "S256", "post.logout.redirect.uris": "http://127.0.0.1:3999/*" },
        protocolMappers: [
          { name: "aud", protocolMapper: "oidc-audience-mapper", config: { "included.client.audience": "api", "access.token.claim": "true" } },
          { name: "groups", protocolMapper: "oidc-group-membership-mapper", config: { "claim.name": "groups", "full.path": "true", "access.token.claim": "true" } },
        ],
        defaultClientScopes: ["basic", "roles", "profile", "email"],
      },
      { clientId: "api", bearerOnly: true, standardFlowEnabled: false },
      {
        clientId: "sensor-7",
        secret: "sensor-secret",
        standardFlowEnabled: false,
        serviceAccountsEnabled: true,
        protocolMappers: [
          { name: "aud", protocolMapper: "oidc-audience-mapper", config: { "included.client.audience": "api", "access.token.claim": "true" } },
          { name: "tenant", protocolMapper: "oidc-hardcoded-claim-mapper", config: { "claim.name": "tenant", "claim.value": "acme", "jsonType.label": "String", "access.token.claim": "true" } },
          { name: "rack", protocolMapper: "oidc-hardcoded-claim-mapper", config: { "claim.name": "rack", "claim.value": "12", "jsonType.label": "int", "access.token.claim": "true" } },
          { name: "id only", protocolMapper: "oidc-hardcoded-claim-mapper", config: { "claim.name": "hidden", "claim.value": "x", "access.token.claim": "false" } },
        ],
      },
      { clientId: "no-flows", secret: "s", standardFlowEnabled: false },
    ],
    users: [
      { username: "service-account-sensor-7", serviceAccountClientId: "sensor-7", realmRoles: ["auditor"] },
      { username: "ops", email: "ops@example.com", credentials: [{ type: "password", value: "ops-pw" }], groups: ["/staff/night"] },
    ],
  };
}

function withClient(patch: (c: NonNullable<RealmExport["clients"]>[number]) => void): RealmExport {
  const r = sampleRealm();
  patch(r.clients![0]!);
  return r;
}

describe("providerOptionsFromRealm", () => {
  it("maps clients, mappers, service accounts, users and group roles", () => {
    const o = providerOptionsFromRealm(sampleRealm(), { port: 0 });
    expect(o).toMatchObject({ realm: "demo", apiAudience: "api", accessTokenLifespanSec: 120, port: 0 });
    expect(o.clients?.map((c) => c.clientId)).toEqual(["web", "sensor-7"]);
    expect(o.clients?.[0]).toEqual({
      clientId: "web",
      secret: "web-secret",
      audience: ["api"],
      redirectUris: [CALLBACK],
      postLogoutRedirectUris: ["http://127.0.0.1:3999/"],
    });
    expect(o.clients?.[1]).toMatchObject({
      clientId: "sensor-7",
      serviceAccountsEnabled: true,
      tenant: "acme",
      extraClaims: { tenant: "acme", rack: 12 },
      serviceAccount: { realmRoles: ["auditor"] },
    });
    // A member of /staff/night inherits the realm role of /staff.
    expect(o.users).toEqual([{ username: "ops", password: "ops-pw", email: "ops@example.com", realmRoles: ["auditor"], groups: ["/staff/night"] }]);
  });

  it("appends users from elsewhere (a federated directory), checked against the realm's roles and groups", () => {
    const o = providerOptionsFromRealm(sampleRealm(), { users: [{ username: "viewer", password: "pw", groups: ["/tenants/acme/tenant_viewer"] }] });
    expect(o.users?.map((u) => u.username)).toEqual(["ops", "viewer"]);
    expect(() => providerOptionsFromRealm(sampleRealm(), { users: [{ username: "x", password: "pw", groups: ["/tenants/globex/tenant_viewer"] }] })).toThrow(/does not exist/);
  });

  it.each([
    ["an implicit flow", (c: NonNullable<RealmExport["clients"]>[number]) => (c.implicitFlowEnabled = true), /implicit flow/],
    ["a password grant", (c: NonNullable<RealmExport["clients"]>[number]) => (c.directAccessGrantsEnabled = true), /direct access grants/],
    ["a wildcard redirect URI", (c: NonNullable<RealmExport["clients"]>[number]) => (c.redirectUris = ["http://127.0.0.1:3999/*"]), /wildcard redirect/],
    ["an unresolved secret", (c: NonNullable<RealmExport["clients"]>[number]) => (c.secret = "${WEB_SECRET}"), /unresolved placeholder/],
    ["a scope list without basic (no sub claim)", (c: NonNullable<RealmExport["clients"]>[number]) => (c.defaultClientScopes = ["roles"]), /"basic" is missing/],
    ["group names without their path", (c: NonNullable<RealmExport["clients"]>[number]) => (c.protocolMappers![1]!.config!["full.path"] = "false"), /full paths/],
    ["no group mapper on a sign-in client", (c: NonNullable<RealmExport["clients"]>[number]) => (c.protocolMappers = c.protocolMappers!.slice(0, 1)), /no group mapper/],
    ["an audience naming an unknown client", (c: NonNullable<RealmExport["clients"]>[number]) => (c.protocolMappers![0]!.config!["included.client.audience"] = "nope"), /unknown client nope/],
    ["a mapper the provider does not emulate", (c: NonNullable<RealmExport["clients"]>[number]) => c.protocolMappers!.push({ name: "x", protocolMapper: "oidc-usermodel-attribute-mapper" }), /not emulated/],
  ])("refuses %s", (_what, patch, message) => {
    expect(() => providerOptionsFromRealm(withClient(patch))).toThrow(message);
  });

  it("refuses what is not a realm export, and a disabled realm", () => {
    expect(() => providerOptionsFromRealm({ clients: [] })).toThrow(/not a realm export/);
    expect(() => providerOptionsFromRealm({ ...sampleRealm(), enabled: false })).toThrow(/disabled/);
  });
});

describe("a provider started from a realm export", () => {
  let kc: KeycloakLikeProvider | undefined;
  afterAll(async () => {
    await kc?.stop();
  });

  it("issues tokens with the realm's audience, hardcoded claims and group roles", async () => {
    kc = await startKeycloakLikeProvider(providerOptionsFromRealm(sampleRealm()));
    expect(new URL(kc.issuer).pathname).toBe("/realms/demo");

    const device = decodeJwt((await kc.clientCredentialsToken("sensor-7", "sensor-secret")).access_token);
    expect(device).toMatchObject({ azp: "sensor-7", tenant: "acme", rack: 12 });
    expect(device.hidden).toBeUndefined();
    expect([device.aud].flat()).toContain("api");
    expect((device.realm_access as { roles: string[] }).roles).toContain("auditor");

    const user = decodeJwt((await kc.authorizationCodeLogin({ clientId: "web", username: "ops", password: "ops-pw", clientSecret: "web-secret" })).access_token);
    expect(user).toMatchObject({ azp: "web", preferred_username: "ops", groups: ["/staff/night"] });
    expect((user.realm_access as { roles: string[] }).roles).toContain("auditor");
    expect(user.exp! - user.iat!).toBe(120);
  });
});
