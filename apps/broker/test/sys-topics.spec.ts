import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "./api-harness.ts";

/** $SYS: each tenant sees its own figures under its namespace; nothing of other tenants. */
describe("$SYS topics per tenant", () => {
  let api: Api;
  const clients: mqtt.MqttClient[] = [];

  beforeAll(async () => {
    api = await startApi("embedded", { HALYARD_SYS_INTERVAL: "1" });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    await api?.close();
  });

  async function device(slug: string, clientId: string): Promise<mqtt.MqttClient> {
    const d = await api.call("POST", `/api/v1/tenants/${slug}/devices`, { token: api.admin, body: { clientId } });
    const cred = await api.call("POST", `/api/v1/tenants/${slug}/devices/${d.body.id}/credentials`, { token: api.admin, body: {} });
    const roles = await api.call("GET", `/api/v1/tenants/${slug}/roles`, { token: api.admin });
    let roleId = roles.body.items[0]?.id as string | undefined;
    if (!roleId) {
      const rules = [
        { effect: "allow", action: "both", topicFilter: "#" },
        { effect: "allow", action: "subscribe", topicFilter: "$SYS/#" },
      ];
      roleId = (await api.call("POST", `/api/v1/tenants/${slug}/roles`, { token: api.admin, body: { name: "all", rules } })).body.id as string;
    }
    await api.call("POST", `/api/v1/tenants/${slug}/bindings`, { token: api.admin, body: { roleId, targetType: "device", targetId: d.body.id } });
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${api.broker.ports.tcp}`, {
      clientId,
      username: `${cred.body.username}@${slug}`,
      password: cred.body.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    clients.push(c);
    return c;
  }

  function valueOf(client: mqtt.MqttClient, topic: string, expected: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${topic} never became ${expected}`)), timeoutMs);
      client.on("message", (t, p) => {
        if (t === topic && p.toString() === expected) {
          clearTimeout(timer);
          resolve(p.toString());
        }
      });
    });
  }

  it("each tenant's $SYS counts only its own clients; `#` does not include $SYS; broker-wide values stay out of reach", async () => {
    for (const slug of ["acme", "globex"]) await api.call("POST", "/api/v1/tenants", { token: api.admin, body: { slug, name: slug } });
    const acme = await device("acme", "a1");
    await device("globex", "g1");
    const globex = await device("globex", "g2");

    const acmeCount = valueOf(acme, "$SYS/broker/clients/connected", "1");
    const globexCount = valueOf(globex, "$SYS/broker/clients/connected", "2");
    const version = valueOf(acme, "$SYS/broker/version", (await import("../package.json", { with: { type: "json" } })).default.version);
    await acme.subscribeAsync("$SYS/broker/#", { qos: 0 });
    await globex.subscribeAsync("$SYS/broker/clients/connected", { qos: 0 });
    expect(await acmeCount).toBe("1");
    expect(await globexCount).toBe("2");
    await version;

    // A plain `#` in the tenant sees application topics but no $SYS [MQTT-4.7.2-1].
    const watcher = await device("acme", "a2");
    const seen: string[] = [];
    watcher.on("message", (t) => seen.push(t));
    await watcher.subscribeAsync("#", { qos: 0 });
    await acme.publishAsync("app/x", "1", { qos: 1 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen).toContain("app/x");
    expect(seen.filter((t) => t.startsWith("$SYS"))).toEqual([]);
    // Broker-wide $SYS lives at the root; the root is no tenant's namespace.
    expect(api.broker.app.get((await import("../src/mqtt/mqtt.service.ts")).MqttService).broker.retained.get("$SYS/broker/clients/connected")).toBeDefined();
  });
});
