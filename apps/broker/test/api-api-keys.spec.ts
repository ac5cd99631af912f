import { createHash, randomUUID } from "node:crypto";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * API keys through the admin API: tenant keys (tenant admins, role no higher
 * than their own) and platform keys (platform admins). The key is shown once
 * and stored as SHA-256 plus a public prefix; it authenticates with exactly
 * its role in its tenant and nothing elsewhere; revoked or expired keys get 401.
 */
describe.each(DB_KINDS)("admin API: API keys (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  /** Every key this suite saw; none may appear in a later read or in the audit log. */
  const keys: string[] = [];

  const base = "/api/v1/tenants/acme/api-keys";
  const prisma = () => api.broker.app.get(DatabaseService).db;
  const createKey = async (path: string, token: string, body: object) => {
    const r = await api.call("POST", path, { token, body });
    if (r.status === 201) keys.push(r.body.key);
    return r;
  };
  const snapshot = async () => ({
    acme: (await api.call("GET", `${base}?pageSize=200`, { token: acmeAdmin })).body,
    globex: (await api.call("GET", "/api/v1/tenants/globex/api-keys?pageSize=200", { token: globexAdmin })).body,
    platform: (await api.call("GET", "/api/v1/api-keys?pageSize=200", { token: api.admin })).body,
    audit: (await api.call("GET", "/api/v1/audit?pageSize=1", { token: api.admin })).body.total,
  });

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
  }, 60_000);
  afterAll(async () => api?.close());

  it("a tenant admin creates a key shown once, stored as SHA-256 and a public prefix; reads never carry it", async () => {
    const r = await createKey(base, acmeAdmin, { name: "ci", role: "tenant_operator" });
    expect(r.status).toBe(201);
    expect(schemas.createdApiKey.strict().parse(r.body)).toBeTruthy();
    expect(r.body).toMatchObject({ name: "ci", role: "tenant_operator", platformAdmin: false, expiresAt: null, revokedAt: null, lastUsedAt: null });
    expect(r.body.key).toMatch(/^hyd_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(r.body.key.slice(4, 16)).toBe(r.body.prefix);

    const row = await prisma().apiKey.findUniqueOrThrow({ where: { id: r.body.id } });
    expect(row.keyHash).toBe(sha256(r.body.key));
    expect(row.tenantId).not.toBeNull();

    const { key: _key, ...withoutKey } = r.body;
    const one = await api.call("GET", `${base}/${r.body.id}`, { token: acmeAdmin });
    const list = await api.call("GET", base, { token: acmeAdmin });
    expect(one.body).toEqual(withoutKey);
    expect(list.body.items).toContainEqual(withoutKey);
    for (const text of [JSON.stringify(one.body), JSON.stringify(list.body)]) {
      expect(text).not.toContain(r.body.key);
      expect(text).not.toContain(row.keyHash);
      expect(text).not.toMatch(/"key(Hash)?"/);
    }
  });

  it("a key authenticates with exactly its role in its tenant and nothing anywhere else", async () => {
    const op = (await createKey(base, acmeAdmin, { name: "operator-key", role: "tenant_operator" })).body;
    const viewer = (await createKey(base, acmeAdmin, { name: "viewer-key", role: "tenant_viewer" })).body;
    const admin = (await createKey(base, acmeAdmin, { name: "admin-key", role: "tenant_admin" })).body;

    const me = await api.call("GET", "/api/v1/me", { token: op.key });
    expect(me.body).toMatchObject({ kind: "apikey", subject: op.id, platformAdmin: false, tenants: [{ slug: "acme", role: "tenant_operator" }] });
    expect((await api.call("GET", "/api/v1/tenants", { token: op.key })).body.items.map((t: { slug: string }) => t.slug)).toEqual(["acme"]);

    // Operator: device writes yes; admin things no; other tenants and platform routes not at all.
    const device = await api.call("POST", "/api/v1/tenants/acme/devices", { token: op.key, body: { clientId: "by-key" } });
    expect(device.status).toBe(201);
    expect((await api.call("PATCH", "/api/v1/tenants/acme", { token: op.key, body: { name: "renamed" } })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/tenants/acme/members", { token: op.key })).status).toBe(403);
    expect((await api.call("GET", base, { token: op.key })).status).toBe(403);
    expect((await api.call("POST", base, { token: op.key, body: { name: "child", role: "tenant_viewer" } })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/tenants/globex", { token: op.key })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/tenants/globex/devices", { token: op.key })).status).toBe(404);
    expect((await api.call("POST", "/api/v1/tenants", { token: op.key, body: { slug: "by-key", name: "x" } })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/api-keys", { token: op.key })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/audit", { token: op.key })).status).toBe(403);

    // Viewer: reads only.
    expect((await api.call("GET", "/api/v1/tenants/acme/devices", { token: viewer.key })).status).toBe(200);
    expect((await api.call("POST", "/api/v1/tenants/acme/devices", { token: viewer.key, body: { clientId: "by-viewer-key" } })).status).toBe(403);

    // Admin: admin things in acme, still nothing in globex.
    expect((await api.call("GET", "/api/v1/tenants/acme/members", { token: admin.key })).status).toBe(200);
    expect((await api.call("GET", "/api/v1/tenants/globex/members", { token: admin.key })).status).toBe(404);

    // What a key does is audited as the key.
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=device", { token: acmeAdmin });
    expect(audit.body.items.find((e: { resourceId: string }) => e.resourceId === device.body.id).actor).toBe(`apikey:${op.id}`);

    // Use is recorded (asynchronously, off the request's path).
    await expect.poll(async () => (await api.call("GET", `${base}/${op.id}`, { token: acmeAdmin })).body.lastUsedAt, { timeout: 2000 }).not.toBeNull();
  });

  it("revoked and expired keys, and look-alikes, get 401", async () => {
    const k = (await createKey(base, acmeAdmin, { name: "short-lived", role: "tenant_viewer" })).body;
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: k.key })).status).toBe(200);
    expect((await api.call("DELETE", `${base}/${k.id}`, { token: acmeAdmin })).status).toBe(204);
    const revoked = await api.call("GET", "/api/v1/tenants/acme", { token: k.key });
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get("content-type")).toContain("application/problem+json");
    const row = (await api.call("GET", `${base}/${k.id}`, { token: acmeAdmin })).body;
    expect(row.revokedAt).not.toBeNull();
    // Revoking again changes nothing and records nothing.
    const auditBefore = (await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin })).body.total;
    expect((await api.call("DELETE", `${base}/${k.id}`, { token: acmeAdmin })).status).toBe(204);
    expect((await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin })).body.total).toBe(auditBefore);
    expect((await api.call("GET", `${base}/${k.id}`, { token: acmeAdmin })).body).toEqual(row);

    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const e = (await createKey(base, acmeAdmin, { name: "expiring", role: "tenant_admin", expiresAt: soon })).body;
    expect(e.expiresAt).toBe(soon);
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: e.key })).status).toBe(200);
    await prisma().apiKey.update({ where: { id: e.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: e.key })).status).toBe(401);

    const live = (await createKey(base, acmeAdmin, { name: "live", role: "tenant_admin" })).body;
    const tampered = live.key.slice(0, -1) + (live.key.endsWith("A") ? "B" : "A");
    for (const token of [tampered, `hyd_${live.prefix}_short`, "hyd_", `hyd_000000000000_${"A".repeat(43)}`]) {
      expect((await api.call("GET", "/api/v1/tenants/acme", { token })).status, token).toBe(401);
    }
  });

  it("a key's role cannot exceed its creator's; only tenant admins manage tenant keys", async () => {
    const before = await snapshot();
    for (const token of [acmeOperator, acmeViewer]) {
      for (const role of ["tenant_admin", "tenant_operator", "tenant_viewer"]) {
        const r = await createKey(base, token, { name: "escalate", role });
        expect(r.status, role).toBe(403);
        expect(r.headers.get("content-type")).toContain("application/problem+json");
      }
      expect((await api.call("GET", base, { token })).status).toBe(403);
    }
    const some = before.acme.items[0].id as string;
    for (const token of [acmeOperator, acmeViewer]) {
      expect((await api.call("GET", `${base}/${some}`, { token })).status).toBe(403);
      expect((await api.call("DELETE", `${base}/${some}`, { token })).status).toBe(403);
    }
    expect(await snapshot()).toEqual(before);

    // A platform admin may make any role.
    expect((await createKey(base, api.admin, { name: "by-platform", role: "tenant_admin" })).status).toBe(201);
  });

  it("a key cannot create keys (it would outlive its own revocation through them), but may revoke them", async () => {
    const adminKey = (await createKey(base, acmeAdmin, { name: "admin-key-2", role: "tenant_admin" })).body;
    const platformKey = (await createKey("/api/v1/api-keys", api.admin, { name: "platform-key-2" })).body;
    const before = await snapshot();
    for (const role of ["tenant_admin", "tenant_viewer"]) {
      expect((await createKey(base, adminKey.key, { name: "child", role })).status).toBe(403);
      expect((await createKey(base, platformKey.key, { name: "child", role })).status).toBe(403);
    }
    expect((await createKey("/api/v1/api-keys", platformKey.key, { name: "child" })).status).toBe(403);
    expect((await api.call("GET", base, { token: adminKey.key })).status).toBe(200);
    expect(await snapshot()).toMatchObject({ audit: before.audit });
    const victim = (await createKey(base, acmeAdmin, { name: "to-revoke", role: "tenant_viewer" })).body;
    expect((await api.call("DELETE", `${base}/${victim.id}`, { token: adminKey.key })).status).toBe(204);
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: victim.key })).status).toBe(401);
  });

  it("platform keys: platform admins only, kept apart from tenant keys, and they act as a platform admin", async () => {
    const r = await createKey("/api/v1/api-keys", api.admin, { name: "platform-automation" });
    expect(r.status).toBe(201);
    expect(schemas.createdApiKey.strict().parse(r.body)).toBeTruthy();
    expect(r.body).toMatchObject({ role: null, platformAdmin: true });
    expect((await prisma().apiKey.findUniqueOrThrow({ where: { id: r.body.id } })).tenantId).toBeNull();

    const me = await api.call("GET", "/api/v1/me", { token: r.body.key });
    expect(me.body).toMatchObject({ kind: "apikey", platformAdmin: true });
    expect((await api.call("POST", "/api/v1/tenants", { token: r.body.key, body: { slug: "initech", name: "Initech" } })).status).toBe(201);
    expect((await api.call("GET", "/api/v1/tenants/globex/members", { token: r.body.key })).status).toBe(200);

    const { key: _key, ...withoutKey } = r.body;
    // Used above, so lastUsedAt is set by now (or about to be).
    expect((await api.call("GET", `/api/v1/api-keys/${r.body.id}`, { token: api.admin })).body).toEqual({ ...withoutKey, lastUsedAt: expect.toBeOneOf([null, expect.any(String)]) });
    const platformList = (await api.call("GET", "/api/v1/api-keys", { token: api.admin })).body;
    expect(platformList.items.every((k: { platformAdmin: boolean }) => k.platformAdmin)).toBe(true);
    expect(JSON.stringify(platformList)).not.toContain(r.body.key);

    // Tenant admins, operators, viewers and tenant keys: 403 on every platform-key route.
    const tenantKey = (await createKey(base, acmeAdmin, { name: "tenant-admin-key", role: "tenant_admin" })).body;
    for (const token of [acmeAdmin, acmeOperator, acmeViewer, globexAdmin, tenantKey.key]) {
      expect((await api.call("GET", "/api/v1/api-keys", { token })).status).toBe(403);
      expect((await createKey("/api/v1/api-keys", token, { name: "mine" })).status).toBe(403);
      expect((await api.call("GET", `/api/v1/api-keys/${r.body.id}`, { token })).status).toBe(403);
      expect((await api.call("DELETE", `/api/v1/api-keys/${r.body.id}`, { token })).status).toBe(403);
    }
    // Ids do not cross between the two: a tenant key is not a platform key, nor the reverse.
    expect((await api.call("GET", `/api/v1/api-keys/${tenantKey.id}`, { token: api.admin })).status).toBe(404);
    expect((await api.call("DELETE", `/api/v1/api-keys/${tenantKey.id}`, { token: api.admin })).status).toBe(404);
    expect((await api.call("GET", `${base}/${r.body.id}`, { token: api.admin })).status).toBe(404);
    expect((await api.call("DELETE", `${base}/${r.body.id}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: tenantKey.key })).status).toBe(200);

    expect((await api.call("DELETE", `/api/v1/api-keys/${r.body.id}`, { token: api.admin })).status).toBe(204);
    expect((await api.call("GET", "/api/v1/tenants", { token: r.body.key })).status).toBe(401);
  });

  it("another tenant's admin gets 404, by acme's path and with acme's key ids under its own path", async () => {
    const k = (await createKey(base, acmeAdmin, { name: "acme-private", role: "tenant_viewer" })).body;
    const before = await snapshot();
    const calls: [string, string, unknown?][] = [
      ["GET", base],
      ["POST", base, { name: "intruder", role: "tenant_admin" }],
      ["GET", `${base}/${k.id}`],
      ["DELETE", `${base}/${k.id}`],
      ["GET", `/api/v1/tenants/globex/api-keys/${k.id}`],
      ["DELETE", `/api/v1/tenants/globex/api-keys/${k.id}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api.call(method, path, { token: globexAdmin, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(await snapshot()).toEqual(before);
    expect((await api.call("GET", "/api/v1/tenants/acme", { token: k.key })).status).toBe(200);
  });

  it("bad input gets a 400 problem and changes nothing", async () => {
    const before = await snapshot();
    const past = new Date(Date.now() - 1000).toISOString();
    const tenantCases: [unknown, string][] = [
      [{ name: 42, role: "tenant_viewer" }, "name"],
      [{ name: "", role: "tenant_viewer" }, "name"],
      [{ name: "  ", role: "tenant_viewer" }, "name"],
      [{ name: "x".repeat(201), role: "tenant_viewer" }, "name"],
      [{ name: "k" }, "role"],
      [{ name: "k", role: "owner" }, "role"],
      [{ name: "k", role: "tenant_viewer", expiresAt: "next week" }, "expiresAt"],
      [{ name: "k", role: "tenant_viewer", expiresAt: past }, "expiresAt"],
      [{ name: "k", role: "tenant_viewer", platformAdmin: true }, ""],
      [{ name: "k", role: "tenant_viewer", key: "hyd_chosen" }, ""],
      [{ name: "k", role: "tenant_viewer", tenantId: randomUUID() }, ""],
    ];
    for (const [body, path] of tenantCases) {
      const r = await createKey(base, acmeAdmin, body as object);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    for (const body of [{ name: "p", role: "tenant_admin" }, { name: "p", platformAdmin: false }, { name: "" }, { name: "p", expiresAt: past }, {}]) {
      const r = await createKey("/api/v1/api-keys", api.admin, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    for (const [method, path] of [
      ["GET", `${base}/not-a-uuid`],
      ["DELETE", `${base}/1`],
      ["GET", "/api/v1/api-keys/not-a-uuid"],
      ["DELETE", "/api/v1/api-keys/zzz"],
      ["GET", `${base}?pageSize=1000`],
      ["GET", "/api/v1/api-keys?prefix=abc"],
    ] as const) {
      const r = await api.call(method, path, { token: api.admin });
      expect(r.status, `${method} ${path}`).toBe(400);
    }
    expect((await api.call("GET", `${base}/${randomUUID()}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("DELETE", `/api/v1/api-keys/${randomUUID()}`, { token: api.admin })).status).toBe(404);
    expect((await api.call("POST", base, { token: acmeAdmin, raw: "{not json" })).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it("creation and revocation are audited, and no key or key hash is anywhere in the audit log", async () => {
    const k = (await createKey(base, acmeAdmin, { name: "audited", role: "tenant_operator" })).body;
    await api.call("DELETE", `${base}/${k.id}`, { token: acmeAdmin });
    const p = (await createKey("/api/v1/api-keys", api.admin, { name: "audited-platform" })).body;
    await api.call("DELETE", `/api/v1/api-keys/${p.id}`, { token: api.admin });

    const acme = await api.call("GET", "/api/v1/tenants/acme/audit?resource=apikey&pageSize=200", { token: acmeAdmin });
    const mine = acme.body.items.filter((e: { resourceId: string }) => e.resourceId === k.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["apikey.revoke", "apikey.create"]);
    expect(mine[1].after).toMatchObject({ id: k.id, name: "audited", role: "tenant_operator", prefix: k.prefix });
    expect(mine[0].before.revokedAt).toBeNull();
    expect(mine[0].after.revokedAt).not.toBeNull();
    for (const e of mine) expect(e.actor).toMatch(/^user:/);
    expect(acme.body.items.some((e: { resourceId: string }) => e.resourceId === p.id)).toBe(false);
    const globex = await api.call("GET", "/api/v1/tenants/globex/audit?resource=apikey&pageSize=200", { token: globexAdmin });
    expect(globex.body.items.some((e: { resourceId: string }) => e.resourceId === k.id)).toBe(false);

    const all = await api.call("GET", "/api/v1/audit?resource=apikey&pageSize=200", { token: api.admin });
    const platform = all.body.items.filter((e: { resourceId: string }) => e.resourceId === p.id);
    expect(platform.map((e: { action: string; tenantId: string | null }) => [e.action, e.tenantId])).toEqual([
      ["apikey.revoke", null],
      ["apikey.create", null],
    ]);

    const text = JSON.stringify((await api.call("GET", "/api/v1/audit?pageSize=200", { token: api.admin })).body);
    const hashes = (await prisma().apiKey.findMany({ select: { keyHash: true } })).map((r) => r.keyHash);
    expect(keys.length).toBeGreaterThan(10);
    for (const secret of [...keys, ...hashes]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/"key(Hash)?"/);
  });
});
