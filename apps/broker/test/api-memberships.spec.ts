import { randomUUID } from "node:crypto";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

/**
 * Tenant memberships through the admin API: tenant admins add people by OIDC
 * issuer and subject (before or after their first sign-in), change their role
 * and remove them; the role applies from the next request whatever the
 * token's groups say, but never lowers what the groups give.
 */
describe.each(DB_KINDS)("admin API: tenant memberships (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;

  const base = "/api/v1/tenants/acme/members";
  const member = (subject: string, role: string, extra: object = {}) => ({ issuer: api.oidc.issuer, subject, role, ...extra });
  const prisma = () => api.broker.app.get(DatabaseService).db;
  const snapshot = async () => ({
    acme: (await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin })).body,
    globex: (await api.call("GET", "/api/v1/tenants/globex/members?pageSize=200", { token: globexAdmin })).body,
    users: await prisma().user.count(),
    audit: (await api.call("GET", "/api/v1/audit?pageSize=1", { token: api.admin })).body.total,
  });
  const roleIn = async (token: string, slug: string) =>
    ((await api.call("GET", "/api/v1/me", { token })).body.tenants as { slug: string; role: string }[]).find((t) => t.slug === slug)?.role;

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    // Sign-ins create the users' rows (AuthService.upsertOidc).
    for (const t of [acmeAdmin, acmeOperator, acmeViewer, globexAdmin]) expect((await api.call("GET", "/api/v1/me", { token: t })).status).toBe(200);
  }, 60_000);
  afterAll(async () => api?.close());

  it("an admin adds someone never seen before; the role applies at their first request without any group", async () => {
    const r = await api.call("POST", base, { token: acmeAdmin, body: member("sub-mallory", "tenant_operator", { email: "mallory@example.com" }) });
    expect(r.status).toBe(201);
    expect(schemas.membership.strict().parse(r.body)).toBeTruthy();
    expect(r.body).toMatchObject({ issuer: api.oidc.issuer, subject: "sub-mallory", email: "mallory@example.com", displayName: null, role: "tenant_operator" });

    const mallory = await api.userToken("mallory", []);
    expect(await roleIn(mallory, "acme")).toBe("tenant_operator");
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: mallory, body: { clientId: "by-mallory" } })).status).toBe(201);
    expect((await api.call("PATCH", "/api/v1/tenants/acme", { token: mallory, body: { name: "x" } })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/tenants/globex", { token: mallory })).status).toBe(404);

    // Signing in filled in the name; the membership is the same row.
    const got = await api.call("GET", `${base}/${r.body.userId}`, { token: acmeAdmin });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ userId: r.body.userId, displayName: "mallory", role: "tenant_operator" });
    const list = await api.call("GET", base, { token: acmeAdmin });
    expect(list.body.items.map((m: { subject: string }) => m.subject)).toContain("sub-mallory");
  });

  it("a membership raises the role a token's groups give, but does not lower it", async () => {
    const vera = await api.call("POST", base, { token: acmeAdmin, body: member("sub-vera", "tenant_operator") });
    expect(vera.status).toBe(201);
    expect(await roleIn(acmeViewer, "acme")).toBe("tenant_operator");
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeViewer, body: { clientId: "by-vera" } })).status).toBe(201);

    const otto = await api.call("POST", base, { token: acmeAdmin, body: member("sub-otto", "tenant_viewer") });
    expect(otto.status).toBe(201);
    expect(await roleIn(acmeOperator, "acme")).toBe("tenant_operator");

    for (const id of [vera.body.userId, otto.body.userId]) expect((await api.call("DELETE", `${base}/${id}`, { token: acmeAdmin })).status).toBe(204);
    expect(await roleIn(acmeViewer, "acme")).toBe("tenant_viewer");
  });

  it("PATCH changes the role and DELETE removes it, from the next request on; the user row stays", async () => {
    const m = (await api.call("POST", base, { token: acmeAdmin, body: member("sub-pat", "tenant_viewer") })).body;
    const pat = await api.userToken("pat", []);
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: pat, body: { clientId: "by-pat" } })).status).toBe(403);

    const up = await api.call("PATCH", `${base}/${m.userId}`, { token: acmeAdmin, body: { role: "tenant_admin" } });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ userId: m.userId, role: "tenant_admin" });
    expect((await api.call("GET", base, { token: pat })).status).toBe(200);

    expect((await api.call("DELETE", `${base}/${m.userId}`, { token: acmeAdmin })).status).toBe(204);
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: pat })).status).toBe(404);
    expect((await api.call("GET", `${base}/${m.userId}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${m.userId}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("PATCH", `${base}/${m.userId}`, { token: acmeAdmin, body: { role: "tenant_viewer" } })).status).toBe(404);

    // Added again, the same user comes back.
    const again = await api.call("POST", base, { token: acmeAdmin, body: member("sub-pat", "tenant_viewer") });
    expect(again.status).toBe(201);
    expect(again.body.userId).toBe(m.userId);
  });

  it("operators and viewers cannot read or change memberships (403), and nothing changes", async () => {
    const m = (await api.call("GET", base, { token: acmeAdmin })).body.items[0] as { userId: string };
    const before = await snapshot();
    const calls: [string, string, unknown?][] = [
      ["GET", base],
      ["POST", base, member("sub-eve", "tenant_admin")],
      ["GET", `${base}/${m.userId}`],
      ["PATCH", `${base}/${m.userId}`, { role: "tenant_admin" }],
      ["DELETE", `${base}/${m.userId}`],
    ];
    for (const token of [acmeOperator, acmeViewer]) {
      for (const [method, path, body] of calls) {
        const r = await api.call(method, path, { token, body });
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.headers.get("content-type")).toContain("application/problem+json");
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it("another tenant's admin gets 404, by acme's path and with acme's user ids under its own path", async () => {
    // Someone who is in both tenants: each tenant sees and changes only its own membership.
    const inAcme = (await api.call("POST", base, { token: acmeAdmin, body: member("sub-dual", "tenant_operator") })).body;
    const inGlobex = await api.call("POST", "/api/v1/tenants/globex/members", { token: globexAdmin, body: member("sub-dual", "tenant_viewer") });
    expect(inGlobex.status).toBe(201);
    expect(inGlobex.body.userId).toBe(inAcme.userId);
    const acmeOnly = (await api.call("POST", base, { token: acmeAdmin, body: member("sub-acme-only", "tenant_viewer") })).body;
    const before = await snapshot();

    const calls: [string, string, unknown?][] = [
      ["GET", base],
      ["POST", base, member("sub-gina-friend", "tenant_admin")],
      ["GET", `${base}/${inAcme.userId}`],
      ["PATCH", `${base}/${inAcme.userId}`, { role: "tenant_viewer" }],
      ["DELETE", `${base}/${inAcme.userId}`],
      ["GET", `/api/v1/tenants/globex/members/${acmeOnly.userId}`],
      ["PATCH", `/api/v1/tenants/globex/members/${acmeOnly.userId}`, { role: "tenant_viewer" }],
      ["DELETE", `/api/v1/tenants/globex/members/${acmeOnly.userId}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api.call(method, path, { token: globexAdmin, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(await snapshot()).toEqual(before);

    expect((await api.call("DELETE", `/api/v1/tenants/globex/members/${inAcme.userId}`, { token: globexAdmin })).status).toBe(204);
    expect((await api.call("GET", `${base}/${inAcme.userId}`, { token: acmeAdmin })).body.role).toBe("tenant_operator");
  });

  it("bad input gets a problem (400, or 409 for an existing member) and changes nothing", async () => {
    const existing = (await api.call("POST", base, { token: acmeAdmin, body: member("sub-existing", "tenant_viewer") })).body;
    const before = await snapshot();
    const creates: [unknown, number, string][] = [
      [member("sub-x", "owner"), 400, "role"],
      [member("sub-x", "platform_admin"), 400, "role"],
      [{ issuer: api.oidc.issuer, subject: "sub-x" }, 400, "role"],
      [member("", "tenant_viewer"), 400, "subject"],
      [member("s".repeat(256), "tenant_viewer"), 400, "subject"],
      [member(42 as unknown as string, "tenant_viewer"), 400, "subject"],
      [{ ...member("sub-x", "tenant_viewer"), issuer: "" }, 400, "issuer"],
      [{ ...member("sub-x", "tenant_viewer"), issuer: "i".repeat(501) }, 400, "issuer"],
      [{ ...member("sub-x", "tenant_viewer"), issuer: "https://evil.example.com/realms/x" }, 400, "issuer"],
      [{ ...member("sub-x", "tenant_viewer"), issuer: api.oidc.issuer + "/" }, 400, "issuer"],
      [member("sub-x", "tenant_viewer", { email: "not-an-email" }), 400, "email"],
      [member("sub-x", "tenant_viewer", { userId: randomUUID() }), 400, ""],
      [member("sub-existing", "tenant_admin"), 409, ""],
    ];
    for (const [body, status, path] of creates) {
      const r = await api.call("POST", base, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body).slice(0, 200)).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    for (const body of [{}, { role: "superuser" }, { role: 3 }, { role: "tenant_admin", subject: "other" }]) {
      const r = await api.call("PATCH", `${base}/${existing.userId}`, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    for (const [method, path] of [
      ["GET", `${base}/not-a-uuid`],
      ["PATCH", `${base}/42`],
      ["DELETE", `${base}/${existing.userId}-x`],
      ["GET", `${base}?pageSize=-1`],
      ["GET", `${base}?role=tenant_admin`],
    ] as const) {
      const r = await api.call(method, path, { token: acmeAdmin, body: method === "PATCH" ? { role: "tenant_viewer" } : undefined });
      expect(r.status, `${method} ${path}`).toBe(400);
    }
    expect((await api.call("GET", `${base}/${randomUUID()}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "{not json" })).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it("every change is audited with actor, before and after; another tenant sees none of it", async () => {
    const m = (await api.call("POST", base, { token: acmeAdmin, body: member("sub-audited", "tenant_viewer") })).body;
    await api.call("PATCH", `${base}/${m.userId}`, { token: acmeAdmin, body: { role: "tenant_operator" } });
    // Setting the role it already has changes nothing and records nothing.
    expect((await api.call("PATCH", `${base}/${m.userId}`, { token: acmeAdmin, body: { role: "tenant_operator" } })).status).toBe(200);
    await api.call("DELETE", `${base}/${m.userId}`, { token: acmeAdmin });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=membership&pageSize=200", { token: acmeAdmin });
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === m.userId);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["membership.delete", "membership.update", "membership.create"]);
    const [del, update, create] = mine;
    expect(create.after).toMatchObject({ userId: m.userId, subject: "sub-audited", role: "tenant_viewer", userCreated: true });
    expect(update.before.role).toBe("tenant_viewer");
    expect(update.after.role).toBe("tenant_operator");
    expect(del.before.role).toBe("tenant_operator");
    for (const e of mine) expect(e.actor).toMatch(/^user:/);
    const other = await api.call("GET", "/api/v1/tenants/globex/audit?resource=membership&pageSize=200", { token: globexAdmin });
    expect(other.body.items.some((e: { resourceId: string }) => e.resourceId === m.userId)).toBe(false);
  });
});
