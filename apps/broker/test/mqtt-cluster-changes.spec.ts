import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "./api-harness.ts";
import { connectDevice, provisionTenant, refusal, setRules, type TenantFixture } from "./mqtt-tenant-kit.ts";

/**
 * Two broker processes' worth of broker (two apps in one test process, each
 * with its own MQTT listener and caches) on one Postgres database: a change
 * made through one reaches devices connected to the other, through Postgres
 * LISTEN/NOTIFY, within a second.
 */
describe("control-plane changes reach every broker sharing the database", () => {
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
