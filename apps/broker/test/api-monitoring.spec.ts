import { monitoring, page } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseService } from "../src/modules/database/database.service.ts";
import { ConnectionLog } from "../src/modules/monitoring/connection-log.ts";
import { floorMinute, StatsRecorder } from "../src/modules/monitoring/stats-recorder.ts";
import { DB_KINDS, seedTwoTenants, startApi, type Api, type TwoTenants } from "./api-harness.ts";
import {
  addDevice,
  addRole,
  ALLOW_ALL,
  closeAll,
  connectDevice,
  disconnected,
  inbox,
  publish,
  refusal,
  sleep,
  subscribe,
  until,
  type Client,
  type DeviceLogin,
} from "./mqtt-tenant-kit.ts";

/**
 * The monitoring API against a whole broker: real MQTT.js clients publish,
 * subscribe, retain and get refused; the API's counters, series, client list,
 * retained browser and connection log follow, per tenant and never across
 * tenants. Viewers read, operators act (audited), other tenants get 404, bad
 * query parameters 400.
 */
describe.each(DB_KINDS)("admin API: monitoring (%s database)", (db) => {
  let api: Api;
  let port: number;
  let t: TwoTenants;
  let tenantIds: Record<string, string>;
  const acme: Record<string, DeviceLogin> = {};
  const globex: Record<string, DeviceLogin> = {};
  const open: Client[] = [];

  const prisma = () => api.broker.app.get(DatabaseService).db;
  const recorder = () => api.broker.app.get(StatsRecorder);
  const get = (path: string, token: string) => api.call("GET", `/api/v1/tenants/${path}`, { token });
  /** Polls `read` until `done` holds for its result (or 5 s pass), and returns the last result. */
  const eventually = async <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    const deadline = Date.now() + 5000;
    let v = await read();
    while (!done(v) && Date.now() < deadline) {
      await sleep(100);
      v = await read();
    }
    return v;
  };
  const device = async (slug: "acme" | "globex", clientId: string, opts: Parameters<typeof connectDevice>[3] = {}) => {
    const c = await connectDevice(port, slug, (slug === "acme" ? acme : globex)[clientId]!, opts);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    api = await startApi(db);
    port = api.broker.ports.tcp!;
    t = await seedTwoTenants(api);
    const roleA = await addRole(api, "acme", "all", ALLOW_ALL);
    const roleG = await addRole(api, "globex", "all", ALLOW_ALL);
    for (const id of ["pub-1", "sub-1", "v3-1", "kick-1", "log-1", "ret-1"]) acme[id] = await addDevice(api, "acme", id, [roleA]);
    for (const id of ["pub-1", "ret-1"]) globex[id] = await addDevice(api, "globex", id, [roleG]);
    const rows = await prisma().tenant.findMany({ select: { id: true, slug: true } });
    tenantIds = Object.fromEntries(rows.map((r) => [r.slug, r.id]));
  }, 60_000);
  afterAll(async () => {
    await closeAll(...open);
    await api?.close();
  });

  it("stats: totals, rates, subscriptions and top topics follow real traffic, per tenant", async () => {
    const before = await get("acme/stats", t.acmeViewer);
    expect(before.status).toBe(200);
    monitoring.tenantStats.parse(before.body);
    const sub = await device("acme", "sub-1");
    const pub = await device("acme", "pub-1");
    const gpub = await device("globex", "pub-1");
    expect(await subscribe(sub, "t/#", { qos: 1 })).toEqual([1]);
    // Let the 1 s sampler take a sample before the traffic, so the rate sees it.
    await sleep(1200);
    const minute = floorMinute(Date.now());
    for (let i = 0; i < 20; i++) await publish(pub, "t/a", "0123456789", { qos: 1 });
    for (let i = 0; i < 5; i++) await publish(pub, "t/b", "01234", { qos: 1 });
    for (let i = 0; i < 3; i++) await publish(gpub, "t/globex-only", "x", { qos: 1 });
    await until(() => inbox(sub).length === 25, 3000, "25 deliveries");
    const sameMinute = floorMinute(Date.now()) === minute;

    const r = await get("acme/stats", t.acmeViewer);
    expect(r.status).toBe(200);
    const s = monitoring.tenantStats.parse(r.body);
    expect(s.connections).toBe(2);
    expect(s.totals.messagesIn - before.body.totals.messagesIn).toBe(25);
    expect(s.totals.bytesIn - before.body.totals.bytesIn).toBe(20 * 10 + 5 * 5);
    expect(s.totals.messagesOut - before.body.totals.messagesOut).toBe(25);
    expect(s.totals.bytesOut - before.body.totals.bytesOut).toBe(225);
    expect(s.subscriptions).toBe(1);
    expect(s.queued).toBe(0);
    expect(s.rates.messagesIn).toBeGreaterThan(0);
    expect(s.rates.bytesIn).toBeGreaterThan(s.rates.messagesIn);
    expect(s.topTopics.map((x) => x.topic).slice(0, 2)).toEqual(["t/a", "t/b"]);
    if (sameMinute) expect(s.topTopics).toEqual([{ topic: "t/a", messages: 20, bytes: 200 }, { topic: "t/b", messages: 5, bytes: 25 }]);
    expect(JSON.stringify(s)).not.toContain("globex");

    // globex sees its own traffic only.
    const g = monitoring.tenantStats.parse((await get("globex/stats", t.globexAdmin)).body);
    expect(g.totals.messagesIn).toBe(3);
    expect(g.topTopics).toEqual(sameMinute ? [{ topic: "t/globex-only", messages: 3, bytes: 3 }] : expect.any(Array));
    expect(g.topTopics.map((x) => x.topic)).not.toContain("t/a");

    // Access: another tenant's admin gets 404, unauthenticated 401.
    expect((await get("acme/stats", t.globexAdmin)).status).toBe(404);
    expect((await api.call("GET", "/api/v1/tenants/acme/stats")).status).toBe(401);
    expect((await get("nope/stats", api.admin)).status).toBe(404);
    await closeAll(sub, pub, gpub);
  });

  it("series: the minute in progress comes from memory, closed minutes from Postgres, and they add up to the totals", async () => {
    const series = async (range = "1h") => {
      const r = await get(`acme/stats/series?range=${range}`, t.acmeViewer);
      expect(r.status).toBe(200);
      return monitoring.statsSeries.parse(r.body);
    };
    const total = async () => (await get("acme/stats", t.acmeViewer)).body.totals.messagesIn as number;
    const sumIn = (points: { messagesIn: number }[]) => points.reduce((n, p) => n + p.messagesIn, 0);

    const live = await series();
    expect(live).toHaveLength(60);
    // Points are consecutive minutes, oldest first.
    for (let i = 1; i < live.length; i++) expect(Date.parse(live[i]!.at) - Date.parse(live[i - 1]!.at)).toBe(60_000);
    expect(sumIn(live)).toBe(await total());
    expect(live.at(-1)!.messagesIn).toBeGreaterThan(0);

    // Close the minute and write it: now it is read back from the table.
    recorder().closeMinute();
    expect(await recorder().flush()).toBe(true);
    const rows = await prisma().tenantStatsMinute.findMany({ where: { tenantId: tenantIds.acme! } });
    expect(rows.reduce((n, r) => n + Number(r.messagesIn), 0)).toBe(await total());
    expect(rows.every((r) => r.minute.getTime() % 60_000 === 0)).toBe(true);
    const persisted = await series();
    expect(sumIn(persisted)).toBe(await total());
    expect(persisted.at(-1)!.messagesIn).toBe(0);
    expect(await series("24h")).toHaveLength(1440);
    // globex's rows are its own.
    const gRows = await prisma().tenantStatsMinute.findMany({ where: { tenantId: tenantIds.globex! } });
    expect(gRows.reduce((n, r) => n + Number(r.messagesIn), 0)).toBe(3);

    // The database refuses the write (table gone): the minute stays in memory, still in the series, and is written on retry.
    const pub = await device("acme", "pub-1");
    for (let i = 0; i < 7; i++) await publish(pub, "t/c", "x", { qos: 1 });
    await prisma().$executeRawUnsafe(`ALTER TABLE tenant_stats_minute RENAME TO tenant_stats_minute_away`);
    try {
      recorder().closeMinute();
      expect(await recorder().flush()).toBe(false);
      expect(recorder().pendingFor("acme").reduce((n, r) => n + r.messagesIn, 0)).toBe(7);
    } finally {
      await prisma().$executeRawUnsafe(`ALTER TABLE tenant_stats_minute_away RENAME TO tenant_stats_minute`);
    }
    expect(sumIn(await series())).toBe(await total());
    expect(await recorder().flush()).toBe(true);
    expect(recorder().pendingFor("acme")).toEqual([]);
    const after = await prisma().tenantStatsMinute.findMany({ where: { tenantId: tenantIds.acme! } });
    expect(after.reduce((n, r) => n + Number(r.messagesIn), 0)).toBe(await total());
    expect(sumIn(await series())).toBe(await total());
    await closeAll(pub);

    // Bad query parameters and access.
    for (const q of ["range=7d", "range=", "from=1", "range=1h&x=1"]) expect((await get(`acme/stats/series?${q}`, t.acmeViewer)).status).toBe(400);
    expect((await get("acme/stats/series", t.globexAdmin)).status).toBe(404);
  });

  it("clients: lists the tenant's connected clients with their session, and never another tenant's", async () => {
    const v5 = await device("acme", "sub-1", { keepalive: 30, clean: false, properties: { sessionExpiryInterval: 120 } });
    expect(await subscribe(v5, ["s/+", "$share/grp/jobs/#"], { qos: 1 })).toEqual([1, 1]);
    const v3 = await device("acme", "v3-1", { protocolVersion: 4 });
    const g = await device("globex", "pub-1");

    const r = await get("acme/clients", t.acmeViewer);
    expect(r.status).toBe(200);
    const list = page(monitoring.connectedClient).parse(r.body);
    expect(list.items.map((c) => c.clientId)).toEqual(["sub-1", "v3-1"]);
    expect(list.total).toBe(2);
    const c = list.items[0]!;
    expect(c).toMatchObject({
      clientId: "sub-1",
      deviceId: acme["sub-1"]!.id,
      username: `${acme["sub-1"]!.username}@acme`,
      protocolVersion: 5,
      address: "127.0.0.1",
      cleanStart: false,
      sessionExpiryInterval: 120,
      keepAlive: 30,
      inflight: 0,
      queued: 0,
      transport: "tcp",
    });
    expect(c.subscriptions).toEqual([
      { filter: "s/+", qos: 1 },
      { filter: "$share/grp/jobs/#", qos: 1 },
    ]);
    expect(Date.now() - Date.parse(c.connectedAt)).toBeLessThan(10_000);
    expect(list.items[1]).toMatchObject({ clientId: "v3-1", protocolVersion: 4, cleanStart: true, sessionExpiryInterval: 0 });

    // Search and paging.
    expect((await get("acme/clients?search=V3", t.acmeViewer)).body.items.map((x: { clientId: string }) => x.clientId)).toEqual(["v3-1"]);
    const paged = (await get("acme/clients?pageSize=1&page=2", t.acmeViewer)).body;
    expect([paged.total, paged.items.map((x: { clientId: string }) => x.clientId)]).toEqual([2, ["v3-1"]]);
    // globex lists its own client only; the same client id in acme is not visible from globex.
    expect((await get("globex/clients", t.globexAdmin)).body.items.map((x: { clientId: string }) => x.clientId)).toEqual(["pub-1"]);
    expect((await get("globex/clients/sub-1", t.globexAdmin)).status).toBe(404);
    expect((await get("acme/clients/pub-1", t.acmeViewer)).status).toBe(404);
    expect((await get("acme/clients", t.globexAdmin)).status).toBe(404);

    const one = await get("acme/clients/sub-1", t.acmeViewer);
    expect(one.status).toBe(200);
    expect(monitoring.connectedClient.parse(one.body).subscriptions).toHaveLength(2);
    expect((await get("acme/clients/nobody", t.acmeViewer)).status).toBe(404);
    for (const q of ["page=0", "pageSize=500", "search=" + "x".repeat(300), "sort=clientId"]) expect((await get(`acme/clients?${q}`, t.acmeViewer)).status).toBe(400);
    await closeAll(v5, v3, g);
  });

  it("disconnect: operators kick a v5 client with DISCONNECT 0x98 (audited), viewers get 403, other tenants 404", async () => {
    const c = await device("acme", "kick-1");
    const gone = disconnected(c);
    expect((await api.call("DELETE", "/api/v1/tenants/acme/clients/kick-1", { token: t.acmeViewer })).status).toBe(403);
    expect((await api.call("DELETE", "/api/v1/tenants/acme/clients/kick-1", { token: t.globexAdmin })).status).toBe(404);
    expect(c.connected).toBe(true);

    const r = await api.call("DELETE", "/api/v1/tenants/acme/clients/kick-1", { token: t.acmeOperator });
    expect(r.status).toBe(204);
    expect(await gone).toBe(0x98);
    expect((await eventually(() => get("acme/clients/kick-1", t.acmeViewer), (x) => x.status === 404)).status).toBe(404);
    expect((await api.call("DELETE", "/api/v1/tenants/acme/clients/kick-1", { token: t.acmeOperator })).status).toBe(404);

    const audit = await api.call("GET", "/api/v1/audit?pageSize=200", { token: api.admin });
    const entry = audit.body.items.find((e: { action: string }) => e.action === "client.disconnect");
    expect(entry).toMatchObject({ tenantId: tenantIds.acme, resourceId: "kick-1", actor: expect.stringMatching(/^user:/) });

    // The kick is in the connection log.
    const kicked = await eventually(() => get("acme/events?clientId=kick-1&type=kicked", t.acmeViewer), (x) => x.body.items.length > 0);
    expect(kicked.body.items[0]).toMatchObject({ type: "kicked", clientId: "kick-1", reason: "disconnected by an administrator" });
  });

  it("retained: shows the tenant's own retained messages without its namespace, operators clear one", async () => {
    const a = await device("acme", "ret-1");
    const g = await device("globex", "ret-1");
    await publish(a, "r/1", "hello", { qos: 1, retain: true });
    await publish(a, "r/2", Buffer.from([0, 1, 2, 255]), { qos: 0, retain: true });
    const long = "€".repeat(100); // 300 bytes: the 256-byte preview cuts inside a 3-byte character
    await publish(a, "other/x", long, { qos: 1, retain: true });
    await publish(g, "r/1", "globex-secret", { qos: 1, retain: true });
    await publish(g, "g/only", "globex-only", { qos: 1, retain: true });
    await sleep(50);

    const r = await get("acme/retained", t.acmeViewer);
    expect(r.status).toBe(200);
    const items = monitoring.retainedList.parse(r.body);
    expect(items.map((m) => m.topic)).toEqual(["other/x", "r/1", "r/2"]);
    expect(items[1]).toEqual({ topic: "r/1", qos: 1, payloadSize: 5, payloadPreview: "hello", payloadEncoding: "utf8" });
    expect(items[2]).toEqual({ topic: "r/2", qos: 0, payloadSize: 4, payloadPreview: "AAEC/w==", payloadEncoding: "base64" });
    expect(items[0]).toMatchObject({ payloadSize: 300, payloadEncoding: "utf8", payloadPreview: "€".repeat(85) });
    expect(JSON.stringify(r.body)).not.toContain("globex");

    expect((await get("acme/retained?filter=r%2F%2B", t.acmeViewer)).body.map((m: { topic: string }) => m.topic)).toEqual(["r/1", "r/2"]);
    expect((await get("acme/retained?filter=r%2F1", t.acmeViewer)).body.map((m: { topic: string }) => m.topic)).toEqual(["r/1"]);
    expect((await get("acme/retained?limit=1", t.acmeViewer)).body).toHaveLength(1);
    expect((await get("acme/retained?filter=g%2F%23", t.acmeViewer)).body).toEqual([]);
    const gl = (await get("globex/retained", t.globexAdmin)).body;
    expect(gl.map((m: { topic: string; payloadPreview: string }) => [m.topic, m.payloadPreview])).toEqual([
      ["g/only", "globex-only"],
      ["r/1", "globex-secret"],
    ]);
    expect((await get("acme/retained", t.globexAdmin)).status).toBe(404);
    for (const q of ["filter=a%2F%23%2Fb", "filter=%24share%2Fg%2Fr%2F%23", "filter=", "limit=0", "limit=abc", "limit=5000", "topic=r%2F1"]) {
      expect((await get(`acme/retained?${q}`, t.acmeViewer)).status, q).toBe(400);
    }

    // Clearing: viewers may not, other tenants cannot see, bad topics are 400, a topic without a message 404.
    const del = (q: string, token: string) => api.call("DELETE", `/api/v1/tenants/acme/retained?${q}`, { token });
    expect((await del("topic=r%2F1", t.acmeViewer)).status).toBe(403);
    expect((await del("topic=r%2F1", t.globexAdmin)).status).toBe(404);
    expect((await del("", t.acmeOperator)).status).toBe(400);
    expect((await del("topic=r%2F%2B", t.acmeOperator)).status).toBe(400);
    expect((await del("topic=g%2Fonly", t.acmeOperator)).status).toBe(404);
    expect((await del("topic=r%2F1", t.acmeOperator)).status).toBe(204);
    expect((await del("topic=r%2F1", t.acmeOperator)).status).toBe(404);
    expect((await get("acme/retained", t.acmeViewer)).body.map((m: { topic: string }) => m.topic)).toEqual(["other/x", "r/2"]);
    // globex's message on the same topic is untouched, and a new acme subscriber no longer gets acme's.
    expect((await get("globex/retained?filter=r%2F1", t.globexAdmin)).body).toHaveLength(1);
    const s = await device("acme", "sub-1");
    await subscribe(s, "r/#", { qos: 1 });
    await until(() => inbox(s).length === 1, 3000, "r/2 retained");
    await sleep(200);
    expect(inbox(s).map((m) => m.topic)).toEqual(["r/2"]);
    const audit = await api.call("GET", "/api/v1/audit?pageSize=200", { token: api.admin });
    expect(audit.body.items.find((e: { action: string }) => e.action === "retained.delete")).toMatchObject({ resourceId: "r/1", tenantId: tenantIds.acme });
    await closeAll(a, g, s);
  });

  it("events: connects, disconnects and refused logins are logged per tenant, without passwords; retention prunes", async () => {
    const wrong = "definitely-wrong-password-42";
    const c = await device("acme", "log-1");
    await closeAll(c);
    const login = acme["log-1"]!;
    expect(await refusal(connectDevice(port, "acme", { ...login, password: wrong }))).toBe(0x86);
    // A tenant that does not exist logs nothing anywhere.
    expect(await refusal(connectDevice(port, "nosuch", { ...login, password: wrong }))).toBe(0x86);

    const events = async (q = "") => (await get(`acme/events?clientId=log-1${q}`, t.acmeViewer)).body;
    const body = await eventually(() => events(), (b) => b.total >= 3);
    const logged = page(monitoring.connectionEvent).parse(body);
    expect(logged.items.map((e) => e.type)).toEqual(["auth_failed", "disconnected", "connected"]);
    expect(logged.items[0]).toMatchObject({ clientId: "log-1", username: `${login.username}@acme`, address: "127.0.0.1", reason: "bad user name or password (0x86)" });
    expect(logged.items[1]!.reason).toBe("closed by the client or the network");
    expect(logged.items[2]).toMatchObject({ username: `${login.username}@acme`, reason: null });
    expect(Date.parse(logged.items[0]!.at)).toBeGreaterThanOrEqual(Date.parse(logged.items[2]!.at));

    expect((await events("&type=auth_failed")).items).toHaveLength(1);
    expect((await events("&pageSize=1&page=2")).items.map((e: { type: string }) => e.type)).toEqual(["disconnected"]);
    // Never a password, in the API or in the table.
    const table = await prisma().connectionEvent.findMany();
    expect(JSON.stringify(table, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(wrong);
    expect(JSON.stringify(await events())).not.toContain(wrong);
    expect(table.some((e) => e.username?.includes("nosuch"))).toBe(false);
    // globex sees none of acme's events.
    const g = (await get("globex/events?pageSize=200", t.globexAdmin)).body;
    expect(g.items.some((e: { clientId: string }) => ["log-1", "kick-1", "sub-1"].includes(e.clientId))).toBe(false);
    expect((await get("acme/events", t.globexAdmin)).status).toBe(404);
    for (const q of ["type=login", "pageSize=0", "page=-1", "clientId=", "since=1"]) expect((await get(`acme/events?${q}`, t.acmeViewer)).status, q).toBe(400);

    // Retention: at most N per tenant (newest kept), and nothing older than the window.
    const log = api.broker.app.get(ConnectionLog);
    const acmeTotal = (await get("acme/events", t.acmeViewer)).body.total as number;
    const globexTotal = (await get("globex/events", t.globexAdmin)).body.total as number;
    expect(acmeTotal).toBeGreaterThan(3);
    const newest = (await get("acme/events?pageSize=2", t.acmeViewer)).body.items;
    log.maxPerTenant = 2;
    try {
      await log.prune(["acme", "globex"]);
    } finally {
      log.maxPerTenant = 100_000;
    }
    const capped = (await get("acme/events?pageSize=50", t.acmeViewer)).body;
    expect(capped.total).toBe(2);
    expect(capped.items).toEqual(newest);
    expect((await get("globex/events", t.globexAdmin)).body.total).toBe(globexTotal > 2 ? 2 : globexTotal);
    log.retentionMs = 0;
    try {
      await log.prune();
    } finally {
      log.retentionMs = 7 * 24 * 3600 * 1000;
    }
    expect((await get("acme/events", t.acmeViewer)).body.total).toBe(0);
  });

  it("platform stats: platform administrators only", async () => {
    const c = await device("acme", "pub-1");
    const r = await eventually(() => api.call("GET", "/api/v1/platform/stats", { token: api.admin }), (x) => x.body?.tenants?.[0]?.connections === 1);
    expect(r.status).toBe(200);
    const s = monitoring.platformStats.parse(r.body);
    expect(s.connections).toBeGreaterThanOrEqual(1);
    expect(s.totals.messagesIn).toBeGreaterThanOrEqual(25 + 3);
    expect(s.tenants.map((x) => x.slug)).toEqual(["acme", "globex"]);
    expect(s.tenants[0]!.connections).toBe(1);
    for (const token of [t.acmeAdmin, t.acmeViewer, t.globexAdmin]) expect((await api.call("GET", "/api/v1/platform/stats", { token })).status).toBe(403);
    expect((await api.call("GET", "/api/v1/platform/stats")).status).toBe(401);
    await closeAll(c);
  });
});
