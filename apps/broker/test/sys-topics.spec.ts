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

  async function device(slug: string, clientId: string, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
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
      ...opts,
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

  /** Collects every $SYS/broker/ topic a client receives, latest value per topic. */
  function collect(client: mqtt.MqttClient): Map<string, string> {
    const values = new Map<string, string>();
    client.on("message", (t, p) => t.startsWith("$SYS/broker/") && values.set(t.slice("$SYS/broker/".length), p.toString()));
    return values;
  }

  async function settle(check: () => boolean, what: string, timeoutMs = 6000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const LAYOUT = [
    "version",
    "uptime",
    "clients/connected",
    "clients/disconnected",
    "clients/total",
    "clients/maximum",
    "messages/received",
    "messages/sent",
    "messages/inflight",
    "bytes/received",
    "bytes/sent",
    "publish/messages/dropped",
    "store/messages/count",
    "subscriptions/count",
    "retained messages/count",
    ...["messages/received", "messages/sent", "bytes/received", "bytes/sent"].flatMap((n) => ["1min", "5min", "15min"].map((w) => `load/${n}/${w}`)),
  ];

  it("a tenant's view has the usual layout and follows its own traffic: messages, bytes, loads, sessions, retained", async () => {
    await api.call("POST", "/api/v1/tenants", { token: api.admin, body: { slug: "initech", name: "initech" } });
    const watcher = await device("initech", "i1");
    const pub = await device("initech", "i2");
    // A persistent session that goes offline: counted as disconnected, its queue as stored.
    const away = await device("initech", "i3", { clean: false, properties: { sessionExpiryInterval: 600 } });
    await away.subscribeAsync("data/#", { qos: 1 });
    away.end(true);
    const values = collect(watcher);
    await watcher.subscribeAsync("$SYS/broker/#", { qos: 0 });
    await watcher.subscribeAsync("data/#", { qos: 1 });
    for (let i = 0; i < 4; i++) await pub.publishAsync("data/t", "0123456789", { qos: 1 });
    await pub.publishAsync("keep/me", "r", { qos: 1, retain: true });

    await settle(() => values.get("messages/received") === "5", "messages/received 5");
    await settle(() => values.get("clients/connected") === "2" && values.get("clients/disconnected") === "1", "clients 2+1");
    for (const topic of LAYOUT) expect(values.has(topic), topic).toBe(true);
    expect(values.get("clients/total")).toBe("3");
    // The highest count seen at an update (i3 came and went between two).
    expect(Number(values.get("clients/maximum"))).toBeGreaterThanOrEqual(2);
    expect(values.get("bytes/received")).toBe(String(4 * 10 + 1));
    // Deliveries to the tenant's clients, $SYS updates included (as Mosquitto counts them).
    expect(Number(values.get("messages/sent"))).toBeGreaterThanOrEqual(4);
    expect(values.get("subscriptions/count")).toBe("3");
    expect(values.get("retained messages/count")).toBe("1");
    expect(Number(values.get("store/messages/count"))).toBeGreaterThanOrEqual(4);
    expect(values.get("uptime")).toMatch(/^\d+ seconds$/);
    // Traffic moved the one-minute load above zero (messages per minute).
    await settle(() => Number(values.get("load/messages/received/1min")) > 0, "a load average above 0");
    // Broker-wide figures (connections load) are not part of a tenant's view.
    expect([...values.keys()].filter((t) => t.startsWith("load/connections"))).toEqual([]);
  });

  it("the broker-wide view reaches the local administrator (loopback anonymous client) and counts every tenant", async () => {
    const admin = await mqtt.connectAsync(`mqtt://127.0.0.1:${api.broker.ports.tcp}`, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(admin);
    const values = collect(admin);
    await admin.subscribeAsync("$SYS/broker/#", { qos: 0 });
    const mqttService = api.broker.app.get((await import("../src/mqtt/mqtt.service.ts")).MqttService);
    // Every tenant's clients plus this one.
    await settle(() => values.get("clients/connected") === String(mqttService.broker.stats.connections), "broker-wide clients/connected");
    expect(Number(values.get("clients/connected"))).toBeGreaterThanOrEqual(6);
    for (const topic of [...LAYOUT, "load/connections/1min", "load/connections/15min"]) expect(values.has(topic), topic).toBe(true);
    expect(Number(values.get("messages/received"))).toBe(mqttService.broker.stats.messagesReceived);
  });
});
