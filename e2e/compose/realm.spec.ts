// docker/keycloak/halyard-realm.json, the realm Keycloak imports on its first
// start: the layout the broker's OidcVerifier reads (realm role
// platform_admin, groups /tenants/<slug>/<role>, audience halyard-api, a
// tenant claim for device clients) and an LDAP federation that maps the
// directory onto exactly those roles and groups.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { RealmExport } from "@halyard/oidc-testing";
import { composeConfig, first, ldapComponent, realmFile, resolvedRealm, serviceEnv } from "./helpers.ts";

type Client = NonNullable<RealmExport["clients"]>[number];
const TENANT_ROLES = ["tenant_admin", "tenant_operator", "tenant_viewer"];

let realm: RealmExport;
let raw: RealmExport;

function client(id: string): Client {
  const c = realm.clients?.find((x) => x.clientId === id);
  if (!c) throw new Error(`realm has no client ${id}`);
  return c;
}

function mapper(c: Client, type: string) {
  return (c.protocolMappers ?? []).filter((m) => m.protocolMapper === type);
}

/** Every group path of the realm. */
function groupPaths(): string[] {
  const out: string[] = [];
  const walk = (gs: NonNullable<RealmExport["groups"]>, parent: string) => {
    for (const g of gs) {
      out.push(`${parent}/${g.name}`);
      walk(g.subGroups ?? [], `${parent}/${g.name}`);
    }
  };
  walk(realm.groups ?? [], "");
  return out;
}

beforeAll(() => {
  raw = JSON.parse(readFileSync(realmFile, "utf8")) as RealmExport;
  realm = resolvedRealm(serviceEnv(composeConfig(), "keycloak"));
});

describe("realm halyard", () => {
  it("is the realm the issuer URLs name, enabled, TLS required for non-local clients", () => {
    expect(raw.realm).toBe("halyard");
    expect(raw.enabled).toBe(true);
    expect((raw as unknown as { sslRequired: string }).sslRequired).toBe("external");
  });

  it("defines the platform_admin realm role", () => {
    expect(realm.roles?.realm?.map((r) => r.name)).toContain("platform_admin");
  });

  it("has /tenants/<slug>/<role> groups for each sample tenant, one per tenant role", () => {
    const paths = groupPaths();
    for (const slug of ["acme", "globex"]) for (const role of TENANT_ROLES) expect(paths).toContain(`/tenants/${slug}/${role}`);
    for (const p of paths.filter((x) => x.split("/").length === 4)) expect(TENANT_ROLES).toContain(p.split("/")[3]);
  });
});

describe("clients", () => {
  it("halyard-console: confidential, Authorization Code only, PKCE S256, redirect and logout under the console URL", () => {
    const c = client("halyard-console");
    expect(c).toMatchObject({ publicClient: false, standardFlowEnabled: true, implicitFlowEnabled: false, directAccessGrantsEnabled: false, serviceAccountsEnabled: false });
    expect(c.attributes?.["pkce.code.challenge.method"]).toBe("S256");
    const rc = raw.clients!.find((x) => x.clientId === "halyard-console")!;
    expect(rc.redirectUris).toEqual(["${REALM_CONSOLE_URL}/api/auth/callback"]);
    expect(rc.attributes?.["post.logout.redirect.uris"]).toBe("${REALM_CONSOLE_URL}/*");
    expect(rc.secret).toBe("${REALM_CONSOLE_CLIENT_SECRET}");
  });

  it("halyard-console puts full group paths in `groups` and halyard-api in the access token's audience", () => {
    const c = client("halyard-console");
    const [groups] = mapper(c, "oidc-group-membership-mapper");
    expect(groups?.config).toMatchObject({ "claim.name": "groups", "full.path": "true", "access.token.claim": "true" });
    const [aud] = mapper(c, "oidc-audience-mapper");
    expect(aud?.config).toMatchObject({ "included.client.audience": "halyard-api", "access.token.claim": "true" });
    for (const scope of ["basic", "roles"]) expect(c.defaultClientScopes).toContain(scope);
  });

  it("halyard-api is bearer-only: no flow issues tokens to it, it only names the audience", () => {
    expect(client("halyard-api")).toMatchObject({ bearerOnly: true, standardFlowEnabled: false, implicitFlowEnabled: false, directAccessGrantsEnabled: false, serviceAccountsEnabled: false });
  });

  it("halyard-devices: client_credentials only, with a hardcoded tenant claim and the API audience", () => {
    const c = client("halyard-devices");
    expect(c).toMatchObject({ publicClient: false, standardFlowEnabled: false, implicitFlowEnabled: false, directAccessGrantsEnabled: false, serviceAccountsEnabled: true });
    const [tenant] = mapper(c, "oidc-hardcoded-claim-mapper");
    expect(tenant?.config).toMatchObject({ "claim.name": "tenant", "claim.value": "acme", "jsonType.label": "String", "access.token.claim": "true" });
    expect(mapper(c, "oidc-audience-mapper")[0]?.config?.["included.client.audience"]).toBe("halyard-api");
    for (const scope of ["basic", "roles"]) expect(c.defaultClientScopes).toContain(scope);
  });

  it("keeps every secret and URL out of the file: they come from the environment at import", () => {
    for (const c of raw.clients ?? []) {
      if (c.secret !== undefined) expect(c.secret, c.clientId).toMatch(/^\$\{[A-Z_]+\}$/);
    }
    const { provider } = ldapComponent(raw);
    expect(first(provider.config, "bindCredential")).toMatch(/^\$\{[A-Z_]+\}$/);
  });
});

describe("LDAP federation", () => {
  it("reads the openldap service read-only, importing users, bound with the directory's admin", () => {
    const { provider } = ldapComponent(realm);
    const c = provider.config;
    expect(first(c, "connectionUrl")).toBe("ldap://openldap:1389");
    expect(first(c, "editMode")).toBe("READ_ONLY");
    expect(first(c, "bindDn")).toBe("cn=admin,dc=halyard,dc=example");
    expect(first(c, "bindCredential")).toBe(serviceEnv(composeConfig(), "openldap").LDAP_ADMIN_PASSWORD);
    expect(first(c, "usersDn")).toBe("ou=people,dc=halyard,dc=example");
    expect(first(c, "usernameLDAPAttribute")).toBe("uid");
    expect(first(c, "uuidLDAPAttribute")).toBe("entryUUID");
  });

  it("maps the directory's platform_admin group to the realm role of that name", () => {
    const { mappers } = ldapComponent(realm);
    const roles = mappers.filter((m) => m.providerId === "role-ldap-mapper");
    expect(roles).toHaveLength(1);
    expect(roles[0]!.config).toMatchObject({ "roles.dn": ["ou=platform,ou=groups,dc=halyard,dc=example"], "use.realm.roles.mapping": ["true"], mode: ["READ_ONLY"] });
  });

  it("maps each tenant's branch of the directory onto that tenant's realm groups", () => {
    const { mappers } = ldapComponent(realm);
    const groupMappers = mappers.filter((m) => m.providerId === "group-ldap-mapper");
    const paths = groupPaths();
    expect(groupMappers.map((m) => first(m.config, "groups.path")).sort()).toEqual(["/tenants/acme", "/tenants/globex"]);
    for (const m of groupMappers) {
      const groupsPath = first(m.config, "groups.path")!;
      const slug = groupsPath.split("/")[2]!;
      // Keycloak refuses to import a group mapper whose groups path does not exist yet.
      expect(paths).toContain(groupsPath);
      expect(first(m.config, "groups.dn")).toBe(`ou=${slug},ou=tenants,ou=groups,dc=halyard,dc=example`);
      expect(m.config).toMatchObject({ "preserve.group.inheritance": ["false"], "membership.attribute.type": ["DN"], mode: ["READ_ONLY"] });
      for (const role of TENANT_ROLES) expect(first(m.config, "groups.ldap.filter")).toContain(`(cn=${role})`);
    }
  });
});
