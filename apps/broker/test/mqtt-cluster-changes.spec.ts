import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANGE_FEED_APPLICATION } from "../src/modules/database/database.service.ts";
import { startApi, type Api } from "./api-harness.ts";
import { connectDevice, provisionTenant, refusal, setRules, type TenantFixture } from "./mqtt-tenant-kit.ts";

/** Two brokers (A on a fresh Postgres database, B sharing it) and tenant acme with devices s1 and s2, for one describe block. */
function twoBrokers(): { a: () => Api; b: () => Api; acme: () => TenantFixture } {
  let a: Api;
  let b: Api;
  let acme: TenantFixture;
  beforeAll(async () => {
    a = await startApi("postgres");
    b = await startApi("embedded", { DATABASE_URL: a.databaseUrl as string });
    acme = await provisionTenant(a, "acme", ["s1", "s2"]);
  }, 90_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  return { a: () => a, b: () => b, acme: () => acme };
}

/**
 * Two broker processes' worth of broker (two apps in one test process, each
 * with its own MQTT listener and caches) on one Postgres database: a change
 * made through one reaches devices connected to the other, through Postgres
 * LISTEN/NOTIFY, within a second.
 */
describe("control-plane changes reach every broker sharing the database", () => {
  const setup = twoBrokers();
  let a: Api;
  let b: Api;
  let acme: TenantFixture;
  beforeAll(() => {
    ({ a, b, acme } = { a: setup.a(), b: setup.b(), acme: setup.acme() });
  });

  const kicked = (c: { once(e: "disconnect", f: (p: { reasonCode?: number }) => void): unknown }) =>
    new Promise<number | undefined>((resolve) => c.once("disconnect", (p) => resolve(p.reasonCode)));

  it("a credential disabled through broker A disconnects its device on broker B (0x98) within a second", async () => {
    const s1 = acme.devices.s1!;
    const client = await connectDevice(b.broker.ports.tcp as number, "acme", s1);
    const gone = kicked(client);
    const creds = await a.call("GET", `/api/v1/tenants/acme/devices/${s1.id}/credentials`, { token: a.admin });
    const started = Date.now();
    const r = await a.call("PATCH", `/api/v1/tenants/acme/devices/${s1.id}/credentials/${creds.body.items[0].id}`, { token: a.admin, body: { enabled: false } });
    expect(r.status).toBe(200);
    expect(await gone).toBe(0x98);
    expect(Date.now() - started).toBeLessThan(1000);
    client.end(true);
    expect(await refusal(connectDevice(b.broker.ports.tcp as number, "acme", s1))).toBe(0x86);
  });

  it("a role edited through broker A takes a subscription away from a device on broker B (0x87)", async () => {
    const s2 = acme.devices.s2!;
    const client = await connectDevice(b.broker.ports.tcp as number, "acme", s2);
    await client.subscribeAsync("plant/#", { qos: 1 });
    const gone = kicked(client);
    const started = Date.now();
    await setRules(a, "acme", acme.roleId, [{ effect: "allow", action: "publish", topicFilter: "#" }]);
    expect(await gone).toBe(0x87);
    expect(Date.now() - started).toBeLessThan(1000);
    client.end(true);
  });
});

/**
 * The LISTEN connection can drop (database restart, failover, a terminated
 * backend). It reconnects by itself, and what was notified while it was down
 * is not lost: after reconnecting, every tenant is re-checked.
 */
describe("the change feed heals after its connection drops", () => {
  const setup = twoBrokers();
  let a: Api;
  let b: Api;
  let acme: TenantFixture;
  beforeAll(() => {
    ({ a, b, acme } = { a: setup.a(), b: setup.b(), acme: setup.acme() });
  });

  async function sql(text: string): Promise<unknown[]> {
    const c = new pg.Client({ connectionString: a.databaseUrl as string });
    await c.connect();
    try {
      return (await c.query(text)).rows;
    } finally {
      await c.end();
    }
  }

  /** Terminates the LISTEN backends of both brokers, as a database restart would; returns how many. */
  async function dropChangeFeeds(): Promise<number> {
    const r = await sql(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = '${CHANGE_FEED_APPLICATION}' AND datname = current_database()`,
    );
    return (r[0] as { n: number }).n;
  }

  async function waitForFeeds(n: number, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const r = await sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = '${CHANGE_FEED_APPLICATION}' AND datname = current_database()`);
      if ((r[0] as { n: number }).n >= n) return;
      if (Date.now() > end) throw new Error("the change feeds did not reconnect");
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  it("a change made while broker B's feed is down still disconnects B's device once the feed is back", async () => {
    const s1 = acme.devices.s1!;
    const client = await connectDevice(b.broker.ports.tcp as number, "acme", s1);
    const gone = new Promise<number | undefined>((resolve) => client.once("disconnect", (p: { reasonCode?: number }) => resolve(p.reasonCode)));
    expect(await dropChangeFeeds()).toBe(2);
    // Right away, before the feeds are back: the NOTIFY for this change reaches nobody.
    const creds = await a.call("GET", `/api/v1/tenants/acme/devices/${s1.id}/credentials`, { token: a.admin });
    const r = await a.call("PATCH", `/api/v1/tenants/acme/devices/${s1.id}/credentials/${creds.body.items[0].id}`, { token: a.admin, body: { enabled: false } });
    expect(r.status).toBe(200);
    expect(await gone).toBe(0x98);
    client.end(true);
    expect(await refusal(connectDevice(b.broker.ports.tcp as number, "acme", s1))).toBe(0x86);
  });

  it("after reconnecting, live notifications flow again", async () => {
    await waitForFeeds(2);
    const s2 = acme.devices.s2!;
    const client = await connectDevice(b.broker.ports.tcp as number, "acme", s2);
    await client.subscribeAsync("plant/#", { qos: 1 });
    const gone = new Promise<number | undefined>((resolve) => client.once("disconnect", (p: { reasonCode?: number }) => resolve(p.reasonCode)));
    const started = Date.now();
    await setRules(a, "acme", acme.roleId, [{ effect: "allow", action: "publish", topicFilter: "#" }]);
    expect(await gone).toBe(0x87);
    expect(Date.now() - started).toBeLessThan(1000);
    client.end(true);
  });
});
