import mqtt from "mqtt";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "./api-harness.ts";

interface Family {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

describe("Prometheus metrics", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi("embedded");
  }, 60_000);
  afterAll(async () => api?.close());

  async function scrape(): Promise<Map<string, Family>> {
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const families = parsePrometheusTextFormat(await res.text()) as Family[];
    return new Map(families.map((f) => [f.name, f]));
  }

  const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) =>
    Number(families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);

  it("parses as Prometheus text format, with broker-wide and per-tenant series that follow real traffic", async () => {
    await api.call("POST", "/api/v1/tenants", { token: api.admin, body: { slug: "acme", name: "Acme" } });
    const device = await api.call("POST", "/api/v1/tenants/acme/devices", { token: api.admin, body: { clientId: "m1" } });
    const cred = await api.call("POST", `/api/v1/tenants/acme/devices/${device.body.id}/credentials`, { token: api.admin, body: {} });
    const role = await api.call("POST", "/api/v1/tenants/acme/roles", {
      token: api.admin,
      body: { name: "all", rules: [{ effect: "allow", action: "both", topicFilter: "#" }] },
    });
    await api.call("POST", "/api/v1/tenants/acme/bindings", { token: api.admin, body: { roleId: role.body.id, targetType: "device", targetId: device.body.id } });

    const before = await scrape();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${api.broker.ports.tcp}`, {
      clientId: "m1",
      username: `${cred.body.username}@acme`,
      password: cred.body.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    await client.subscribeAsync("t/#", { qos: 1 });
    const got = new Promise<void>((resolve) => {
      let n = 0;
      client.on("message", () => ++n === 5 && resolve());
    });
    for (let i = 0; i < 5; i++) await client.publishAsync("t/x", "12345", { qos: 1 });
    await got;
    // A topic no rule allows ($-topics are not covered by `#`): refused and counted.
    await client.publishAsync("$SYS/forbidden", "x", { qos: 1 }).catch(() => undefined);
    const after = await scrape();
    await client.endAsync();

    for (const name of ["halyard_connections", "halyard_messages_received_total", "halyard_process_nodejs_eventloop_lag_seconds", "halyard_tenant_messages_received_total"]) {
      expect(after.has(name), name).toBe(true);
    }
    expect(after.get("halyard_messages_received_total")?.type).toBe("COUNTER");
    expect(value(after, "halyard_tenant_connections", { tenant: "acme" })).toBe(1);
    expect(value(after, "halyard_tenant_messages_received_total", { tenant: "acme" })).toBe(5);
    expect(value(after, "halyard_tenant_messages_sent_total", { tenant: "acme" })).toBe(5);
    expect(value(after, "halyard_tenant_bytes_received_total", { tenant: "acme" })).toBe(25);
    expect(value(after, "halyard_tenant_denials_total", { tenant: "acme", reason: "publish" })).toBe(1);
    expect(value(after, "halyard_messages_received_total") - (value(before, "halyard_messages_received_total") || 0)).toBe(5);
  });
});
