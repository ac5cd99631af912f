import { randomUUID } from "node:crypto";
import { schemas } from "@halyard/api-contract";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../src/modules/auth/secrets.ts";
import { DatabaseService, type ChangeEvent } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";

/**
 * Device credentials through the admin API: the password is shown once and
 * stored as an argon2id hash, reads never carry it, DELETE revokes (the row
 * stays), operators manage and viewers read, tenants never see each other,
 * bad input changes nothing, and the audit log holds no secret.
 */
describe.each(DB_KINDS)("admin API: device credentials (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  const dev: Record<string, string> = {};
  let globexDevice: string;
  /** Every plaintext password this suite saw; none may appear in any later read or in the audit log. */
  const passwords: string[] = [];

  const creds = (device: string, slug = "acme") => `/api/v1/tenants/${slug}/devices/${device}/credentials`;
  const prisma = () => api.broker.app.get(DatabaseService).db;
  /** The promise's value, or "timed out" after `ms` (a disconnect that never comes fails fast). */
  const within = <T>(p: Promise<T>, ms = 3000) => Promise.race([p, new Promise<"timed out">((resolve) => setTimeout(() => resolve("timed out"), ms))]);
  const create = async (device: string, body: object = {}, token = acmeOperator) => {
    const r = await api.call("POST", creds(device), { token, body });
    if (r.status === 201) passwords.push(r.body.password);
    return r;
  };
  const snapshot = async () => {
    const out: Record<string, unknown> = {};
    for (const [name, id] of Object.entries(dev)) out[name] = (await api.call("GET", `${creds(id)}?pageSize=200`, { token: acmeAdmin })).body;
    out.globex = (await api.call("GET", `${creds(globexDevice, "globex")}?pageSize=200`, { token: globexAdmin })).body;
    out.audit = (await api.call("GET", "/api/v1/audit?pageSize=1", { token: api.admin })).body.total;
    return out;
  };

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    for (const clientId of ["sensor-1", "sensor-2", "meter@site-4"]) {
      dev[clientId] = (await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId } })).body.id;
    }
    globexDevice = (await api.call("POST", "/api/v1/tenants/globex/devices", { token: globexAdmin, body: { clientId: "sensor-1" } })).body.id;
  }, 60_000);
  afterAll(async () => api?.close());

  it("POST shows a generated password once and stores only its salted hash; reads never carry it", async () => {
    const r = await create(dev["sensor-1"]!);
    expect(r.status).toBe(201);
    expect(schemas.createdCredential.strict().parse(r.body)).toBeTruthy();
    expect(r.body).toMatchObject({ deviceId: dev["sensor-1"], username: "sensor-1", enabled: true, expiresAt: null, revokedAt: null, lastUsedAt: null });
    expect(r.body.password).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const row = await prisma().deviceCredential.findUniqueOrThrow({ where: { id: r.body.id } });
    // Generated (192-bit) secrets get a salted SHA-256; chosen passwords argon2id (below).
    expect(row.passwordHash).toMatch(/^sha256\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(row.passwordHash).not.toContain(r.body.password);
    expect(await verifyPassword(row.passwordHash, r.body.password)).toBe(true);

    const list = await api.call("GET", creds(dev["sensor-1"]!), { token: acmeViewer });
    const one = await api.call("GET", `${creds(dev["sensor-1"]!)}/${r.body.id}`, { token: acmeViewer });
    expect(list.status).toBe(200);
    expect(one.status).toBe(200);
    const { password: _password, ...withoutPassword } = r.body;
    expect(one.body).toEqual(withoutPassword);
    expect(list.body).toMatchObject({ total: 1, items: [withoutPassword] });
    for (const text of [JSON.stringify(list.body), JSON.stringify(one.body)]) {
      expect(text).not.toContain(r.body.password);
      expect(text).not.toContain(row.passwordHash);
      expect(text).not.toMatch(/password/i);
    }
  });

  it("a chosen username, password and expiry are kept; several credentials per device; usernames unique per tenant", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const r = await create(dev["sensor-1"]!, { username: "sensor-1-rotated", password: "correct horse battery staple", expiresAt });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ username: "sensor-1-rotated", password: "correct horse battery staple", expiresAt });
    const row = await prisma().deviceCredential.findUniqueOrThrow({ where: { id: r.body.id } });
    expect(row.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(await verifyPassword(row.passwordHash, "correct horse battery staple")).toBe(true);
    expect((await api.call("GET", creds(dev["sensor-1"]!), { token: acmeViewer })).body.total).toBe(2);

    // The default (the client id) is taken now: the caller must choose.
    const taken = await create(dev["sensor-1"]!);
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toContain("give a username");
    // Also across devices of the tenant.
    expect((await create(dev["sensor-2"]!, { username: "sensor-1" })).status).toBe(409);
    // A client id with '@' cannot be a username.
    const at = await create(dev["meter@site-4"]!);
    expect(at.status).toBe(400);
    expect(at.body.errors.map((e: { path: string }) => e.path)).toEqual(["username"]);
    expect((await create(dev["meter@site-4"]!, { username: "meter-site-4" })).status).toBe(201);
    // Another tenant has its own usernames.
    const g = await api.call("POST", creds(globexDevice, "globex"), { token: globexAdmin, body: {} });
    expect(g.status).toBe(201);
    expect(g.body.username).toBe("sensor-1");
    passwords.push(g.body.password);
  });

  it("PATCH toggles enabled and expiry; rotation is create-then-revoke; DELETE revokes and keeps the row", async () => {
    const d = dev["sensor-2"]!;
    const old = (await create(d)).body;
    const disabled = await api.call("PATCH", `${creds(d)}/${old.id}`, { token: acmeOperator, body: { enabled: false } });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ id: old.id, enabled: false });
    expect(disabled.body).not.toHaveProperty("password");
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const withExpiry = await api.call("PATCH", `${creds(d)}/${old.id}`, { token: acmeOperator, body: { enabled: true, expiresAt } });
    expect(withExpiry.body).toMatchObject({ enabled: true, expiresAt });
    const cleared = await api.call("PATCH", `${creds(d)}/${old.id}`, { token: acmeOperator, body: { expiresAt: null } });
    expect(cleared.body.expiresAt).toBeNull();

    const next = await create(d, { username: "sensor-2-v2" });
    expect(next.status).toBe(201);
    const revoke = await api.call("DELETE", `${creds(d)}/${old.id}`, { token: acmeOperator });
    expect(revoke.status).toBe(204);
    const after = await api.call("GET", `${creds(d)}/${old.id}`, { token: acmeViewer });
    expect(after.status).toBe(200);
    expect(after.body.enabled).toBe(false);
    expect(Date.parse(after.body.revokedAt)).toBeGreaterThan(Date.now() - 60_000);
    const list = await api.call("GET", creds(d), { token: acmeViewer });
    expect(list.body.items.map((c: { username: string; revokedAt: string | null }) => [c.username, c.revokedAt !== null])).toEqual([
      ["sensor-2", true],
      ["sensor-2-v2", false],
    ]);

    // Revoking again changes nothing and records nothing; a revoked credential cannot come back.
    const auditBefore = (await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin })).body.total;
    expect((await api.call("DELETE", `${creds(d)}/${old.id}`, { token: acmeOperator })).status).toBe(204);
    const revived = await api.call("PATCH", `${creds(d)}/${old.id}`, { token: acmeOperator, body: { enabled: true } });
    expect(revived.status).toBe(409);
    expect(revived.headers.get("content-type")).toContain("application/problem+json");
    expect((await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin })).body.total).toBe(auditBefore);
    expect((await api.call("GET", `${creds(d)}/${old.id}`, { token: acmeViewer })).body).toEqual(after.body);
    // Its username stays taken.
    expect((await create(d, { username: "sensor-2" })).status).toBe(409);
  });

  it("every credential change is published on the change feed after commit, so the broker re-checks connected devices", async () => {
    const events: ChangeEvent[] = [];
    api.broker.app.get(DatabaseService).onChange((e) => events.push(e));
    const tenantId = (await api.call("GET", "/api/v1/tenants/acme", { token: acmeAdmin })).body.id as string;
    const d = dev["sensor-2"]!;
    const c = (await create(d, { username: "fed" })).body;
    await api.call("PATCH", `${creds(d)}/${c.id}`, { token: acmeOperator, body: { enabled: false } });
    await api.call("DELETE", `${creds(d)}/${c.id}`, { token: acmeOperator });
    const event = { kind: "credential", tenantId, id: c.id };
    expect(events).toEqual([event, event, event]);
    // Nothing for what changed nothing: a second revoke, a refused create, a read.
    await api.call("DELETE", `${creds(d)}/${c.id}`, { token: acmeOperator });
    expect((await create(d, { username: "fed" })).status).toBe(409);
    await api.call("GET", creds(d), { token: acmeViewer });
    expect(events).toHaveLength(3);
  });

  // End to end through the MQTT listener.
  it("a credential made here lets its device connect over MQTT; disabling or revoking it disconnects the device", async () => {
    const d = (await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId: "live-1" } })).body.id as string;
    const a = (await create(d)).body;
    const b = (await create(d, { username: "live-1-b" })).body;
    const url = `mqtt://127.0.0.1:${api.broker.ports.tcp}`;
    const connect = (username: string, password: string) =>
      new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = mqtt.connect(url, { clientId: "live-1", username: `${username}@acme`, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
        c.once("connect", () => resolve(c));
        c.once("error", (err) => {
          c.end(true);
          reject(err);
        });
        c.once("close", () => reject(new Error("closed before CONNACK")));
      });
    const refused = { code: 0x86 }; // Bad user name or password
    const kicked = (client: mqtt.MqttClient) => new Promise<number | undefined>((resolve) => client.once("disconnect", (p) => resolve(p.reasonCode)));

    await expect(connect(a.username, b.password)).rejects.toMatchObject(refused);
    const first = await connect(a.username, a.password);
    const firstKicked = kicked(first);
    expect((await api.call("PATCH", `${creds(d)}/${a.id}`, { token: acmeOperator, body: { enabled: false } })).status).toBe(200);
    expect(await firstKicked).toBe(0x98); // Administrative action
    first.end(true);
    await expect(connect(a.username, a.password)).rejects.toMatchObject(refused);

    const second = await connect(b.username, b.password);
    const secondKicked = kicked(second);
    expect((await api.call("DELETE", `${creds(d)}/${b.id}`, { token: acmeOperator })).status).toBe(204);
    expect(await secondKicked).toBe(0x98);
    second.end(true);
    await expect(connect(b.username, b.password)).rejects.toMatchObject(refused);
  });

  it("rotate replaces the password in place: shown once, the old one stops working, connections that used it are closed", async () => {
    const d = (await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId: "rot-1" } })).body.id as string;
    const a = (await create(d)).body;
    const b = (await create(d, { username: "rot-1-b" })).body;
    const url = `mqtt://127.0.0.1:${api.broker.ports.tcp}`;
    const connect = (username: string, password: string) =>
      new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = mqtt.connect(url, { clientId: "rot-1", username: `${username}@acme`, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
        c.once("connect", () => resolve(c));
        c.once("error", (err) => {
          c.end(true);
          reject(err);
        });
        c.once("close", () => reject(new Error("closed before CONNACK")));
      });
    const kicked = (client: mqtt.MqttClient) => new Promise<number | undefined>((resolve) => client.once("disconnect", (p) => resolve(p.reasonCode)));

    const before = await connect(a.username, a.password);
    const beforeKicked = kicked(before);
    const r = await api.call("POST", `${creds(d)}/${a.id}/rotate`, { token: acmeOperator });
    expect(r.status).toBe(200);
    passwords.push(r.body.password);
    expect(schemas.createdCredential.strict().parse(r.body)).toBeTruthy();
    const { password: _old, ...withoutPassword } = a;
    expect(r.body).toEqual({ ...withoutPassword, password: r.body.password });
    expect(r.body.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(r.body.password).not.toBe(a.password);
    expect(await within(beforeKicked)).toBe(0x98); // Administrative action
    before.end(true);

    await expect(connect(a.username, a.password)).rejects.toMatchObject({ code: 0x86 });
    const after = await connect(a.username, r.body.password);
    // The device's other credential was not touched, nor were its connections.
    const afterKicked = kicked(after);
    expect((await api.call("POST", `${creds(d)}/${b.id}/rotate`, { token: acmeOperator })).status).toBe(200);
    expect(await within(afterKicked, 300)).toBe("timed out"); // still connected
    after.end(true);
    const row = await prisma().deviceCredential.findUniqueOrThrow({ where: { id: a.id } });
    expect(await verifyPassword(row.passwordHash, r.body.password)).toBe(true);
    expect(await verifyPassword(row.passwordHash, a.password)).toBe(false);

    // Reads never show the new password; the audit record names the rotation without secrets.
    expect(JSON.stringify((await api.call("GET", creds(d), { token: acmeViewer })).body)).not.toContain(r.body.password);
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=credential&pageSize=5", { token: acmeAdmin });
    const rotation = audit.body.items.find((e: { action: string; resourceId: string }) => e.action === "credential.rotate" && e.resourceId === a.id);
    expect(rotation).toMatchObject({ before: { id: a.id, username: a.username }, after: { id: a.id, username: a.username } });
    expect(JSON.stringify(rotation)).not.toMatch(/password|sha256\$/i);

    // A revoked credential cannot be rotated back to life.
    expect((await api.call("DELETE", `${creds(d)}/${b.id}`, { token: acmeOperator })).status).toBe(204);
    const revoked = await api.call("POST", `${creds(d)}/${b.id}/rotate`, { token: acmeOperator });
    expect(revoked.status).toBe(409);
    expect(revoked.headers.get("content-type")).toContain("application/problem+json");
  });

  it("an expiry set now or in the past expires the credential at once and closes its connections; a later expiry restores it", async () => {
    const d = (await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId: "exp-1" } })).body.id as string;
    const a = (await create(d)).body;
    const url = `mqtt://127.0.0.1:${api.broker.ports.tcp}`;
    const connect = () =>
      new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = mqtt.connect(url, { clientId: "exp-1", username: `${a.username}@acme`, password: a.password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
        c.once("connect", () => resolve(c));
        c.once("error", (err) => {
          c.end(true);
          reject(err);
        });
        c.once("close", () => reject(new Error("closed before CONNACK")));
      });
    const live = await connect();
    const kicked = new Promise<number | undefined>((resolve) => live.once("disconnect", (p) => resolve(p.reasonCode)));
    const past = new Date(Date.now() - 60_000).toISOString();
    const r = await api.call("PATCH", `${creds(d)}/${a.id}`, { token: acmeOperator, body: { expiresAt: past } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: a.id, enabled: true, expiresAt: past, revokedAt: null });
    expect(await within(kicked)).toBe(0x98);
    live.end(true);
    await expect(connect()).rejects.toMatchObject({ code: 0x86 });

    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api.call("PATCH", `${creds(d)}/${a.id}`, { token: acmeOperator, body: { expiresAt: later } })).body.expiresAt).toBe(later);
    const again = await connect();
    again.end(true);
  });

  it("another tenant's admin gets 404, by acme's path and with acme's ids under its own path", async () => {
    const d = dev["sensor-1"]!;
    const c = (await api.call("GET", creds(d), { token: acmeAdmin })).body.items[0].id as string;
    const before = await snapshot();
    const calls: [string, string, unknown?][] = [
      ["GET", creds(d)],
      ["POST", creds(d), {}],
      ["GET", `${creds(d)}/${c}`],
      ["PATCH", `${creds(d)}/${c}`, { enabled: false }],
      ["DELETE", `${creds(d)}/${c}`],
      ["POST", `${creds(d)}/${c}/rotate`],
      // acme's device under globex's path
      ["GET", creds(d, "globex")],
      ["POST", creds(d, "globex"), { username: "stolen" }],
      ["GET", `${creds(d, "globex")}/${c}`],
      // acme's credential under globex's own device
      ["GET", `${creds(globexDevice, "globex")}/${c}`],
      ["PATCH", `${creds(globexDevice, "globex")}/${c}`, { enabled: false }],
      ["DELETE", `${creds(globexDevice, "globex")}/${c}`],
      ["POST", `${creds(globexDevice, "globex")}/${c}/rotate`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api.call(method, path, { token: globexAdmin, body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    // Within one tenant, a credential is reached only through its own device.
    const other = dev["sensor-2"]!;
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const r = await api.call(method, `${creds(other)}/${c}`, { token: acmeAdmin, body: method === "PATCH" ? { enabled: false } : undefined });
      expect(r.status, method).toBe(404);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("viewers read but cannot create, change or revoke (403), and nothing changes", async () => {
    const d = dev["sensor-1"]!;
    const c = (await api.call("GET", creds(d), { token: acmeViewer })).body.items[0].id as string;
    const before = await snapshot();
    const calls: [string, string, unknown?][] = [
      ["POST", creds(d), { username: "by-viewer" }],
      ["PATCH", `${creds(d)}/${c}`, { enabled: false }],
      ["DELETE", `${creds(d)}/${c}`],
      ["POST", `${creds(d)}/${c}/rotate`],
    ];
    for (const [method, path, body] of calls) {
      const r = await api.call(method, path, { token: acmeViewer, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad input gets a problem (400, or 409 for a taken username) and changes nothing", async () => {
    const d = dev["sensor-1"]!;
    const c = (await api.call("GET", creds(d), { token: acmeAdmin })).body.items[0].id as string;
    const before = await snapshot();
    const past = new Date(Date.now() - 1000).toISOString();
    const creates: [unknown, number, string][] = [
      [{ username: 42 }, 400, "username"],
      [{ username: "" }, 400, "username"],
      [{ username: "a@b" }, 400, "username"],
      [{ username: "a\u0000b" }, 400, "username"],
      [{ username: "x".repeat(257) }, 400, "username"],
      [{ username: "ok-1", password: "short" }, 400, "password"],
      [{ username: "ok-1", password: "x".repeat(257) }, 400, "password"],
      [{ username: "ok-1", password: 123456789012345 }, 400, "password"],
      [{ username: "ok-1", expiresAt: "tomorrow" }, 400, "expiresAt"],
      [{ username: "ok-1", expiresAt: past }, 400, "expiresAt"],
      [{ username: "ok-1", enabled: false }, 400, ""],
      [{ username: "sensor-1" }, 409, ""],
      [{ username: "sensor-1-rotated" }, 409, ""],
    ];
    for (const [body, status, path] of creates) {
      const r = await create(d, body as object, acmeAdmin);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    // (An expiry in the past is allowed on PATCH: it expires the credential now; see the expiry test.)
    const updates: unknown[] = [{ enabled: "yes" }, { expiresAt: "soon" }, { password: "a-new-password-123" }, { username: "renamed" }, { revokedAt: null }];
    for (const body of updates) {
      const r = await api.call("PATCH", `${creds(d)}/${c}`, { token: acmeAdmin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }
    const malformed: [string, string][] = [
      ["POST", `${creds(d)}/not-a-uuid/rotate`],
      ["POST", `${creds("x")}/${c}/rotate`],
      ["GET", creds("not-a-uuid")],
      ["POST", creds("123")],
      ["GET", `${creds(d)}/not-a-uuid`],
      ["PATCH", `${creds(d)}/${c}0`],
      ["DELETE", `${creds(d)}/x`],
      ["GET", `${creds(d)}?pageSize=500`],
      ["GET", `${creds(d)}?username=x`],
    ];
    for (const [method, path] of malformed) {
      const r = await api.call(method, path, { token: acmeAdmin, body: method === "GET" || method === "DELETE" ? undefined : { enabled: true } });
      expect(r.status, `${method} ${path}`).toBe(400);
    }
    expect((await api.call("POST", creds(randomUUID()), { token: acmeAdmin, body: {} })).status).toBe(404);
    expect((await api.call("POST", `${creds(d)}/${randomUUID()}/rotate`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", `${creds(randomUUID())}/${c}/rotate`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("GET", `${creds(d)}/${randomUUID()}`, { token: acmeAdmin })).status).toBe(404);
    expect((await api.call("POST", creds(d), { token: acmeAdmin, raw: "{not json" })).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it("every change is audited, and no password or hash is anywhere in the audit log", async () => {
    const d = dev["sensor-2"]!;
    const c = (await create(d, { username: "audited" })).body;
    await api.call("PATCH", `${creds(d)}/${c.id}`, { token: acmeOperator, body: { enabled: false } });
    await api.call("DELETE", `${creds(d)}/${c.id}`, { token: acmeOperator });
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=credential&pageSize=200", { token: acmeAdmin });
    const mine = audit.body.items.filter((e: { resourceId: string }) => e.resourceId === c.id);
    expect(mine.map((e: { action: string }) => e.action)).toEqual(["credential.revoke", "credential.update", "credential.create"]);
    const [revoke, update, created] = mine;
    expect(created.after).toMatchObject({ id: c.id, username: "audited", deviceId: d, enabled: true });
    expect(update.before.enabled).toBe(true);
    expect(update.after.enabled).toBe(false);
    expect(revoke.before.revokedAt).toBeNull();
    expect(revoke.after.revokedAt).not.toBeNull();
    for (const e of mine) expect(e.actor).toMatch(/^user:/);
    expect((await api.call("GET", "/api/v1/tenants/globex/audit?resource=credential&pageSize=200", { token: globexAdmin })).body.items.some((e: { resourceId: string }) => e.resourceId === c.id)).toBe(false);

    // The whole platform's audit log, against every password and hash of this suite.
    const all = JSON.stringify((await api.call("GET", "/api/v1/audit?pageSize=200", { token: api.admin })).body);
    const hashes = (await prisma().deviceCredential.findMany({ select: { passwordHash: true } })).map((r) => r.passwordHash);
    expect(passwords.length).toBeGreaterThan(5);
    expect(hashes.length).toBeGreaterThan(5);
    for (const secret of [...passwords, ...hashes]) expect(all).not.toContain(secret);
    expect(all).not.toContain("$argon2");
    expect(all).not.toMatch(/"password(Hash)?"/);
  });
});
