import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DB_KINDS, seedTwoTenants, startApi, type Api } from "./api-harness.ts";
import { closeAll, connectRaw, sleep, type Client } from "./mqtt-tenant-kit.ts";

/**
 * A device's live connection status in the devices API (`connected`, and
 * the `connected=true|false` list filter), read from the running broker
 * with real MQTT.js clients: it follows connect, disconnect and takeover,
 * and a device of the same client id in another tenant is another device.
 */
describe.each(DB_KINDS)("admin API: device live status (%s database)", (db) => {
  let api: Api;
  let acmeAdmin: string;
  let acmeViewer: string;
  let globexAdmin: string;
  const acme: Record<string, { id: string; password: string }> = {};
  let globexSensor: { id: string; password: string };
  const clients: Client[] = [];

  async function device(slug: string, token: string, clientId: string) {
    const d = await api.call("POST", `/api/v1/tenants/${slug}/devices`, { token, body: { clientId } });
    const c = await api.call("POST", `/api/v1/tenants/${slug}/devices/${d.body.id}/credentials`, { token, body: {} });
    return { id: d.body.id as string, password: c.body.password as string };
  }
  const connect = async (slug: string, clientId: string, password: string) => {
    const c = await connectRaw(api.broker.ports.tcp!, { clientId, username: `${clientId}@${slug}`, password });
    clients.push(c);
    return c;
  };
  const get = async (id: string, slug = "acme", token = acmeViewer) => (await api.call("GET", `/api/v1/tenants/${slug}/devices/${id}`, { token })).body;
  const list = async (query: string, slug = "acme", token = acmeViewer) => (await api.call("GET", `/api/v1/tenants/${slug}/devices?${query}`, { token })).body;
  const names = (page: { items: { clientId: string }[] }) => page.items.map((d) => d.clientId);
  /** Status changes are seen by the API after the broker processed them: poll briefly. */
  async function eventually(check: () => Promise<boolean>, what: string) {
    const deadline = Date.now() + 3000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  beforeAll(async () => {
    api = await startApi(db);
    ({ acmeAdmin, acmeViewer, globexAdmin } = await seedTwoTenants(api));
    for (const clientId of ["sensor-1", "sensor-2", "sensor-3"]) acme[clientId] = await device("acme", acmeAdmin, clientId);
    globexSensor = await device("globex", globexAdmin, "sensor-1");
  }, 60_000);
  afterAll(async () => {
    await closeAll(...clients);
    await api?.close();
  });

  it("a device is connected exactly while its MQTT client is", async () => {
    const { id, password } = acme["sensor-1"]!;
    expect((await get(id)).connected).toBe(false);
    const c = await connect("acme", "sensor-1", password);
    expect((await get(id)).connected).toBe(true);
    // Only that device.
    expect((await get(acme["sensor-2"]!.id)).connected).toBe(false);
    await c.endAsync();
    await eventually(async () => (await get(id)).connected === false, "sensor-1 to show disconnected");
  });

  it("connected=true|false filters the list, with exact totals and paging", async () => {
    const a = await connect("acme", "sensor-1", acme["sensor-1"]!.password);
    const b = await connect("acme", "sensor-3", acme["sensor-3"]!.password);
    const on = await list("connected=true");
    expect(names(on)).toEqual(["sensor-1", "sensor-3"]);
    expect(on.total).toBe(2);
    for (const d of on.items) expect(d.connected).toBe(true);
    const off = await list("connected=false");
    expect(names(off)).toEqual(["sensor-2"]);
    expect(off.items[0].connected).toBe(false);
    expect((await list("connected=true&pageSize=1&page=2")).items.map((d: { clientId: string }) => d.clientId)).toEqual(["sensor-3"]);
    // Combined with another filter.
    expect(names(await list("connected=true&q=sensor-3"))).toEqual(["sensor-3"]);
    expect(names(await list("connected=false&q=sensor-3"))).toEqual([]);
    // The unfiltered list carries the status too.
    const all = await list("");
    expect(all.items.map((d: { clientId: string; connected: boolean }) => [d.clientId, d.connected])).toEqual([
      ["sensor-1", true],
      ["sensor-2", false],
      ["sensor-3", true],
    ]);
    await Promise.all([a.endAsync(), b.endAsync()]);
    await eventually(async () => (await list("connected=true")).total === 0, "no acme device connected");
  });

  it("the same client id connected in another tenant does not make this tenant's device connected", async () => {
    const g = await connect("globex", "sensor-1", globexSensor.password);
    expect((await get(globexSensor.id, "globex", globexAdmin)).connected).toBe(true);
    expect((await get(acme["sensor-1"]!.id)).connected).toBe(false);
    expect((await list("connected=true")).total).toBe(0);
    expect(names(await list("connected=true", "globex", globexAdmin))).toEqual(["sensor-1"]);
    await g.endAsync();
  });

  it("stays connected through a session takeover by the same device", async () => {
    const { id, password } = acme["sensor-2"]!;
    const first = await connect("acme", "sensor-2", password);
    const replaced = new Promise<void>((resolve) => first.once("close", () => resolve()));
    const second = await connect("acme", "sensor-2", password);
    await replaced;
    expect((await get(id)).connected).toBe(true);
    await second.endAsync();
    await eventually(async () => (await get(id)).connected === false, "sensor-2 to show disconnected");
  });

  it("the search filter takes % and _ literally, and combines with connected", async () => {
    const odd = await device("acme", acmeAdmin, "odd%name_1");
    await api.call("POST", "/api/v1/tenants/acme/devices", { token: acmeAdmin, body: { clientId: "plain", description: "100% Done_ok" } });
    expect(names(await list("q=%25"))).toEqual(["odd%name_1", "plain"]);
    expect(names(await list("q=e_1"))).toEqual(["odd%name_1"]);
    expect(names(await list("q=DONE_"))).toEqual(["plain"]);
    expect(names(await list("q=d%25n"))).toEqual(["odd%name_1"]);
    expect(names(await list("q=o%25d"))).toEqual([]);
    const c = await connect("acme", "odd%name_1", odd.password);
    expect(names(await list("q=%25&connected=true"))).toEqual(["odd%name_1"]);
    expect(names(await list("q=%25&connected=false"))).toEqual(["plain"]);
    await c.endAsync();
  });

  it("a bad filter value is a 400 problem; other tenants get 404", async () => {
    for (const q of ["connected=yes", "connected=1", "connected="]) {
      const r = await api.call("GET", `/api/v1/tenants/acme/devices?${q}`, { token: acmeViewer });
      expect(r.status, q).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.errors.map((e: { path: string }) => e.path)).toEqual(["connected"]);
    }
    expect((await api.call("GET", "/api/v1/tenants/acme/devices?connected=true", { token: globexAdmin })).status).toBe(404);
    expect((await api.call("GET", `/api/v1/tenants/acme/devices/${acme["sensor-1"]!.id}`, { token: globexAdmin })).status).toBe(404);
  });
});
