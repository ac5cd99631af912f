import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService } from "../src/modules/database/database.service.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";
import { closeAll, connectRaw, publish } from "./mqtt-tenant-kit.ts";

/**
 * Bulk device import through the admin API: a CSV (in JSON `{ csv }`) is
 * checked as a whole first, and either every device is created in one
 * transaction (audited once, with the count) or nothing is and every problem
 * comes back with its line and field (422). Optional generated credentials
 * are returned once and work over MQTT. Row limit, authorization and bad
 * input are covered too.
 */
describe.each(DB_KINDS)("admin API: device import (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeOperator: string;
  let acmeViewer: string;
  let globexAdmin: string;
  const groups: Record<string, string> = {};
  const url = "/api/v1/tenants/acme/devices/import";

  const importCsv = (csv: string, opts: { token?: string; createCredentials?: boolean; slug?: string } = {}) =>
    api.call("POST", opts.slug ? `/api/v1/tenants/${opts.slug}/devices/import` : url, {
      token: opts.token ?? acmeOperator,
      body: { csv, ...(opts.createCredentials !== undefined ? { createCredentials: opts.createCredentials } : {}) },
    });
  const devices = async (slug = "acme", token = acmeAdmin) => (await api.call("GET", `/api/v1/tenants/${slug}/devices?pageSize=200`, { token })).body;
  const snapshot = async () => ({
    acme: await devices(),
    globex: await devices("globex", globexAdmin),
    audit: (await api.call("GET", "/api/v1/audit?pageSize=1", { token: api.admin })).body.total,
    credentials: await api.broker.app.get(DatabaseService).db.deviceCredential.count(),
  });

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeOperator, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    for (const name of ["line-1", "line 2"]) {
      groups[name] = (await api.call("POST", "/api/v1/tenants/acme/groups", { token: acmeAdmin, body: { name } })).body.id;
    }
    // A group of the same name in another tenant must not be what acme's import finds.
    await api.call("POST", "/api/v1/tenants/globex/groups", { token: globexAdmin, body: { name: "globex-only" } });
    await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId: "existing-1" } });
  }, 60_000);
  afterAll(async () => api?.close());

  it("creates every device of a valid file, in file order, with tags and groups; audited once with the count", async () => {
    const csv = [
      "clientId,description,tags,groups",
      "press-1,Hydraulic press,zone:a;kind=press,line-1",
      '"press-2","Press, the second one",zone:a; zone:a ;kind=press,line-1;line 2',
      "",
      "press-3,,,",
    ].join("\r\n");
    const auditBefore = (await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin })).body.total;
    const r = await importCsv(csv);
    expect(r.status).toBe(201);
    expect(schemas.importDevicesResult.strict().parse(r.body)).toEqual({ created: 3, errors: [] });

    const list = await devices();
    const imported = list.items.filter((d: { clientId: string }) => d.clientId.startsWith("press-"));
    expect(imported.map((d: { clientId: string }) => d.clientId)).toEqual(["press-1", "press-2", "press-3"]);
    expect(imported[0]).toMatchObject({ description: "Hydraulic press", tags: ["zone:a", "kind=press"], groupIds: [groups["line-1"]], enabled: true, connected: false });
    expect(imported[1]).toMatchObject({ description: "Press, the second one", tags: ["zone:a", "kind=press"] });
    expect([...imported[1].groupIds].sort()).toEqual([groups["line-1"], groups["line 2"]].sort());
    expect(imported[2]).toMatchObject({ description: null, tags: [], groupIds: [] });
    for (const d of imported) expect(schemas.device.strict().parse(d)).toBeTruthy();
    // Group filters see the memberships.
    expect((await api.call("GET", `/api/v1/tenants/acme/devices?groupId=${groups["line 2"]}`, { token: acmeViewer })).body.total).toBe(1);

    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=device&pageSize=5", { token: acmeAdmin });
    const all = await api.call("GET", "/api/v1/tenants/acme/audit?pageSize=1", { token: acmeAdmin });
    expect(all.body.total).toBe(auditBefore + 1);
    const [event] = audit.body.items;
    expect(event).toMatchObject({ action: "device.import", resource: "device", resourceId: null, after: { count: 3, createCredentials: false } });
    expect(event.actor).toMatch(/^user:/);
    expect(event.after.devices.map((d: { clientId: string }) => d.clientId)).toEqual(["press-1", "press-2", "press-3"]);
  });

  it("a header in another order, with only clientId required, and case-insensitive names", async () => {
    const r = await importCsv("Groups,CLIENTID\nline-1,order-1\n,order-2\n");
    expect(r.status).toBe(201);
    expect(r.body.created).toBe(2);
    const list = await devices();
    expect(list.items.find((d: { clientId: string }) => d.clientId === "order-1").groupIds).toEqual([groups["line-1"]]);
  });

  it("with createCredentials, each device gets a generated credential whose password is returned once and works over MQTT", async () => {
    const port = api.broker.ports.tcp!;
    // A login tried before the import makes the broker remember "no such username"; the import must make it forget.
    await expect(connectRaw(port, { clientId: "cred-1", username: "cred-1@acme", password: "not-yet-a-password" })).rejects.toMatchObject({ code: 0x86 });
    const r = await importCsv("clientId\ncred-1\ncred-2\n", { createCredentials: true });
    expect(r.status).toBe(201);
    expect(schemas.importDevicesResult.strict().parse(r.body)).toBeTruthy();
    expect(r.body.created).toBe(2);
    expect(r.body.credentials.map((c: { clientId: string; username: string }) => [c.clientId, c.username])).toEqual([
      ["cred-1", "cred-1"],
      ["cred-2", "cred-2"],
    ]);
    for (const c of r.body.credentials) expect(c.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const [first, second] = r.body.credentials as { username: string; password: string }[];

    const id = (await devices()).items.find((d: { clientId: string }) => d.clientId === "cred-1").id;
    const creds = await api.call("GET", `/api/v1/tenants/acme/devices/${id}/credentials`, { token: acmeViewer });
    expect(creds.body.items).toHaveLength(1);
    expect(creds.body.items[0]).toMatchObject({ username: "cred-1", enabled: true, revokedAt: null });
    expect(JSON.stringify(creds.body)).not.toContain(first!.password);

    const c = await connectRaw(port, { clientId: "cred-1", username: `${first!.username}@acme`, password: first!.password });
    // No role is bound: it is in, but may not publish.
    expect(await publish(c, "x", "1", { qos: 1 })).toBe(0x87);
    await closeAll(c);
    await expect(connectRaw(port, { clientId: "cred-2", username: `${second!.username}@acme`, password: first!.password })).rejects.toMatchObject({ code: 0x86 });

    // The audit record lists the credentials, never a password or hash.
    const audit = await api.call("GET", "/api/v1/tenants/acme/audit?resource=device&pageSize=1", { token: acmeAdmin });
    expect(audit.body.items[0].after).toMatchObject({ count: 2, createCredentials: true });
    const text = JSON.stringify(audit.body);
    for (const cred of r.body.credentials) expect(text).not.toContain(cred.password);
    expect(text).not.toMatch(/passwordHash|sha256\$/);
  });

  it("any invalid row means nothing is created: 422 with every problem, its line and field", async () => {
    const before = await snapshot();
    const csv = [
      "clientId,description,tags,groups",
      "good-1,fine,,line-1", // line 2: valid
      "existing-1,,,", // line 3: exists in the tenant
      "dup-1,,,", // line 4: valid the first time
      "dup-1,,,", // line 5: repeated
      "bad-tag,,has space,", // line 6
      "no-group,,,line-1;nope;globex-only", // line 7
      ",,,", // line 8: empty client id
      `long,${"x".repeat(1001)},,`, // line 9
      "too,many,fields,here,extra", // line 10
      '"multi', // line 11: a quoted field spanning lines...
      'line",,bad tag!,', // ...so this row is line 11's
      "after-multi,,zone:a,nope", // line 13
    ].join("\n");
    const r = await importCsv(csv);
    expect(r.status).toBe(422);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(r.body).toMatchObject({ status: 422, created: 0 });
    expect(r.body.detail).toMatch(/Nothing was imported/);
    const got = r.body.errors.map((e: { line: number; field: string }) => [e.line, e.field]);
    expect(got).toEqual([
      [3, "clientId"],
      [5, "clientId"],
      [6, "tags"],
      [7, "groups"],
      [8, "clientId"],
      [9, "description"],
      [10, "(line)"],
      [11, "tags"],
      [13, "groups"],
    ]);
    const byLine = Object.fromEntries(r.body.errors.map((e: { line: number; message: string }) => [e.line, e.message]));
    expect(byLine[3]).toMatch(/exists/);
    expect(byLine[5]).toMatch(/already on line 4/);
    expect(byLine[6]).toMatch(/'has space'/);
    expect(byLine[7]).toBe("no group named 'nope', 'globex-only' in tenant 'acme'");
    expect(byLine[10]).toMatch(/5 fields, but the header names 4 columns/);
    for (const e of r.body.errors) expect(e.path).toBe(`line ${e.line}: ${e.field}`);
    expect(await snapshot()).toEqual(before);
  });

  it("problems with the file itself: header, quoting, no rows", async () => {
    const before = await snapshot();
    const cases: [string, number, string, RegExp][] = [
      ["description,tags\nx,y\n", 1, "clientId", /must name a clientId column/],
      ["clientId,colour\nx,red\n", 1, "colour", /unknown column 'colour'/],
      ["clientId,clientid\nx,y\n", 1, "clientId", /appears twice/],
      ["clientId\n", 1, "(file)", /no device lines/],
      ["\n\n", 1, "(file)", /empty/],
      ['clientId\n"unterminated\n', 2, "(file)", /not valid CSV.*Quote Not Closed/],
      ['clientId,description\nok-9,fine\nbad"quote,x\n', 3, "(file)", /not valid CSV/],
    ];
    for (const [csv, line, field, message] of cases) {
      const r = await importCsv(csv);
      expect(r.status, csv).toBe(422);
      expect(r.body.errors, csv).toHaveLength(1);
      expect(r.body.errors[0], csv).toMatchObject({ line, field });
      expect(r.body.errors[0].message, csv).toMatch(message);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("createCredentials refuses client ids that cannot be usernames or whose username is taken", async () => {
    // A credential named like an import row's client id, on another device.
    const other = (await devices()).items.find((d: { clientId: string }) => d.clientId === "existing-1").id;
    expect((await api.call("POST", `/api/v1/tenants/acme/devices/${other}/credentials`, { token: acmeOperator, body: { username: "taken-name" } })).status).toBe(201);
    const before = await snapshot();
    const r = await importCsv("clientId\nfine-1\nmeter@site\ntaken-name\n", { createCredentials: true });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { line: number; field: string }) => [e.line, e.field])).toEqual([
      [3, "clientId"],
      [4, "clientId"],
    ]);
    expect(r.body.errors[0].message).toMatch(/contains '@'/);
    expect(r.body.errors[1].message).toMatch(/taken/);
    expect(await snapshot()).toEqual(before);
    // Without credentials the same client ids are fine.
    expect((await importCsv("clientId\nmeter@site\ntaken-name\n")).status).toBe(201);
  });

  it("takes 10,000 rows in one transaction and refuses 10,001 (413)", async () => {
    const rows = (n: number, prefix: string) => ["clientId,tags", ...Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, "0")},bulk`)].join("\n");
    const before = await snapshot();
    const tooMany = await importCsv(rows(10_001, "over"));
    expect(tooMany.status).toBe(413);
    expect(tooMany.headers.get("content-type")).toContain("application/problem+json");
    expect(tooMany.body.detail).toMatch(/at most 10,000 devices/);
    expect(await snapshot()).toEqual(before);

    const started = performance.now();
    const r = await importCsv(rows(10_000, "bulk"), { createCredentials: true });
    const ms = performance.now() - started;
    expect(r.status).toBe(201);
    expect(r.body.created).toBe(10_000);
    expect(r.body.credentials).toHaveLength(10_000);
    expect(new Set(r.body.credentials.map((c: { password: string }) => c.password)).size).toBe(10_000);
    console.info(`[${db}] import of 10,000 devices with credentials: ${Math.round(ms)} ms`);
    const tagged = await api.call("GET", "/api/v1/tenants/acme/devices?tag=bulk&pageSize=1", { token: acmeViewer });
    expect(tagged.body.total).toBe(10_000);
    expect(tagged.body.items[0].clientId).toBe("bulk-00000");
    // Importing the same file again: every row is taken, nothing changes.
    const again = await importCsv(rows(10_000, "bulk"));
    expect(again.status).toBe(422);
    expect(again.body.errorCount).toBe(10_000);
    expect(again.body.errors).toHaveLength(1000);
    expect(again.body.detail).toMatch(/10000 problem\(s\) on 10000 line\(s\); the first 1000 are listed/);
  }, 120_000);

  it("viewers get 403, other tenants 404, no token 401, and nothing changes", async () => {
    const before = await snapshot();
    const csv = "clientId\nsneaky-1\n";
    const viewer = await importCsv(csv, { token: acmeViewer });
    expect(viewer.status).toBe(403);
    expect(viewer.headers.get("content-type")).toContain("application/problem+json");
    expect((await importCsv(csv, { token: globexAdmin })).status).toBe(404);
    expect((await api.call("POST", url, { body: { csv } })).status).toBe(401);
    expect((await importCsv(csv, { token: acmeAdmin, slug: "nope" })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    // The globex admin imports into globex, where acme's names mean nothing.
    const own = await importCsv("clientId,groups\nsneaky-1,globex-only\n", { token: globexAdmin, slug: "globex" });
    expect(own.status).toBe(201);
    expect((await devices()).items.some((d: { clientId: string }) => d.clientId === "sneaky-1")).toBe(false);
  });

  it("a body that is not { csv, createCredentials? } is a 400 problem naming the field", async () => {
    const before = await snapshot();
    const bodies: [unknown, string][] = [
      [{}, "csv"],
      [{ csv: "" }, "csv"],
      [{ csv: 5 }, "csv"],
      [{ csv: "clientId\nx\n", createCredentials: "yes" }, "createCredentials"],
      [{ csv: "clientId\nx\n", dryRun: true }, ""],
    ];
    for (const [body, path] of bodies) {
      const r = await api.call("POST", url, { token: acmeOperator, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      if (path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await api.call("POST", url, { token: acmeOperator, raw: "clientId\nx\n", headers: { "content-type": "text/csv" } })).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });
});
