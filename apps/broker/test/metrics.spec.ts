import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "./api-harness.ts";
import { closeAll, connectDevice, publish, refusal, provisionTenant, subscribe, type Client, type TenantFixture } from "./mqtt-tenant-kit.ts";

/**
 * /metrics after real MQTT traffic, parsed with a Prometheus text-format
 * parser: names and types follow the conventions, every series the
 * requirement lists exists broker-wide and per tenant, values move with the
 * traffic (and only the right tenant's), and no label can grow per client.
 */

interface Sample {
  value?: string;
  labels?: Record<string, string>;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}
type Scrape = Map<string, Family> & { text: string };

/** Series the requirement names, by family: broker-wide and per tenant. */
const BROKER_WIDE = {
  GAUGE: [
    "halyard_connections",
    "halyard_inflight_messages",
    "halyard_queued_messages",
    "halyard_queued_bytes",
    "halyard_retained_messages",
    "halyard_sessions",
    "halyard_subscriptions",
    "halyard_ready",
    "halyard_build_info",
    "halyard_nodejs_eventloop_lag_seconds",
  ],
  COUNTER: [
    "halyard_connections_accepted_total",
    "halyard_connections_refused_total",
    "halyard_messages_received_total",
    "halyard_messages_sent_total",
    "halyard_received_bytes_total",
    "halyard_sent_bytes_total",
    "halyard_messages_dropped_total",
    "halyard_denials_total",
    "halyard_authorization_denials_total",
  ],
  HISTOGRAM: ["halyard_auth_duration_seconds"],
};
const PER_TENANT = {
  GAUGE: [
    "halyard_tenant_connections",
    "halyard_tenant_sessions",
    "halyard_tenant_subscriptions",
    "halyard_tenant_inflight_messages",
    "halyard_tenant_queued_messages",
    "halyard_tenant_queued_bytes",
    "halyard_tenant_retained_messages",
  ],
  COUNTER: [
    "halyard_tenant_messages_received_total",
    "halyard_tenant_messages_sent_total",
    "halyard_tenant_received_bytes_total",
    "halyard_tenant_sent_bytes_total",
    "halyard_tenant_messages_dropped_total",
    "halyard_tenant_denials_total",
    "halyard_tenant_auth_failures_total",
  ],
};

describe("Prometheus metrics", () => {
  let api: Api;
  let acme: TenantFixture;
  let globex: TenantFixture;
  const clients: Client[] = [];

  beforeAll(async () => {
    api = await startApi("embedded");
    acme = await provisionTenant(api, "acme", ["pub", "sub", "slow", "offline"]);
    globex = await provisionTenant(api, "globex", ["idle"]);
  }, 90_000);
  afterAll(async () => {
    await closeAll(...clients);
    await api?.close();
  });

  async function scrape(): Promise<Scrape> {
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const families = parsePrometheusTextFormat(text) as Family[];
    return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
  }

  const sample = (s: Scrape, name: string, labels: Record<string, string> = {}) =>
    s.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  const value = (s: Scrape, name: string, labels: Record<string, string> = {}) => Number(sample(s, name, labels)?.value ?? NaN);
  const connect = async (slug: string, fixture: TenantFixture, name: string, opts = {}) => {
    const c = await connectDevice(api.broker.ports.tcp as number, slug, fixture.devices[name] as never, opts);
    clients.push(c);
    return c;
  };

  it("names, types and labels follow Prometheus conventions; no label grows per client or topic", async () => {
    const s = await scrape();
    for (const f of s.values()) {
      expect(f.name, f.name).toMatch(/^halyard_[a-z0-9_]+$/);
      expect(f.help.length, `${f.name} has help`).toBeGreaterThan(0);
      if (f.type === "COUNTER") expect(f.name).toMatch(/_total$/);
      else expect(f.name, `${f.name} is a ${f.type}`).not.toMatch(/_total$/);
      // Units are base units named as a suffix.
      expect(f.name).not.toMatch(/_(milliseconds|ms|kilobytes|kb|mb)(_|$)/);
      if (/_seconds/.test(f.name)) expect(f.name).toMatch(/_seconds(_total|_sum|_count|_bucket)?$/);
      for (const m of f.metrics) {
        for (const label of Object.keys(m.labels ?? {})) {
          expect(["tenant", "reason", "method", "result", "version", "le", "quantile", "kind", "type", "space", "major", "minor", "patch"], `${f.name}{${label}}`).toContain(label);
        }
      }
    }
    for (const [type, names] of Object.entries({ ...BROKER_WIDE })) {
      for (const name of names) expect(s.get(name)?.type, name).toBe(type);
    }
    expect(value(s, "halyard_ready")).toBe(1);
    expect(value(s, "halyard_nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
  });

  it("broker-wide and per-tenant series follow real traffic, each tenant only its own", async () => {
    const before = await scrape();

    // acme: a wrong password, then real traffic.
    const wrong = { ...(acme.devices.pub as object), password: "not-the-password" };
    expect(await refusal(connectDevice(api.broker.ports.tcp as number, "acme", wrong as never))).toBe(0x86);

    const pub = await connect("acme", acme, "pub");
    const sub = await connect("acme", acme, "sub");
    expect(await subscribe(sub, "t/#")).toEqual([1]);
    // A persistent subscriber that goes offline: its messages queue.
    const offline = await connect("acme", acme, "offline", { clean: false, properties: { sessionExpiryInterval: 600 } });
    expect(await subscribe(offline, "t/#")).toEqual([1]);
    await offline.endAsync();
    // A subscriber that never acknowledges: its messages stay in flight.
    const slow = await connect("acme", acme, "slow", { clean: false, properties: { sessionExpiryInterval: 600 } });
    slow.handleMessage = () => undefined;
    expect(await subscribe(slow, "t/#")).toEqual([1]);

    const received = new Promise<void>((resolve) => {
      let n = 0;
      sub.on("message", () => ++n === 5 && resolve());
    });
    for (let i = 0; i < 5; i++) expect(await publish(pub, "t/x", "12345", { qos: 1 })).toBe(0);
    await received;
    expect(await publish(pub, "r/kept", "retained", { qos: 1, retain: true })).toBe(0);
    // A topic no rule allows ($-topics are not covered by `#`): refused and counted.
    expect(await publish(pub, "$SYS/forbidden", "x", { qos: 1 })).toBe(0x87);
    // globex: connected, no traffic.
    await connect("globex", globex, "idle");

    const after = await scrape();
    for (const [type, names] of Object.entries(PER_TENANT)) {
      for (const name of names) {
        expect(after.get(name)?.type, name).toBe(type);
        const tenants = new Set(after.get(name)?.metrics.map((m) => m.labels?.tenant));
        expect([...tenants].every((t) => t === "acme" || t === "globex"), `${name}: ${[...tenants].join(",")}`).toBe(true);
      }
    }

    const a = { tenant: "acme" };
    const g = { tenant: "globex" };
    expect(value(after, "halyard_tenant_connections", a)).toBe(3);
    expect(value(after, "halyard_tenant_connections", g)).toBe(1);
    expect(value(after, "halyard_tenant_sessions", a)).toBe(4);
    expect(value(after, "halyard_tenant_subscriptions", a)).toBe(3);
    expect(value(after, "halyard_tenant_messages_received_total", a)).toBe(6);
    expect(value(after, "halyard_tenant_received_bytes_total", a)).toBe(5 * 5 + "retained".length);
    // Delivered: 5 to sub, 5 written (unacknowledged) to slow.
    expect(value(after, "halyard_tenant_messages_sent_total", a)).toBe(10);
    expect(value(after, "halyard_tenant_sent_bytes_total", a)).toBe(50);
    expect(value(after, "halyard_tenant_inflight_messages", a)).toBe(5);
    expect(value(after, "halyard_tenant_queued_messages", a)).toBe(5);
    expect(value(after, "halyard_tenant_queued_bytes", a)).toBe(25);
    expect(value(after, "halyard_tenant_retained_messages", a)).toBe(1);
    expect(value(after, "halyard_tenant_denials_total", { ...a, reason: "publish" })).toBe(1);
    expect(value(after, "halyard_tenant_auth_failures_total", a)).toBe(1);
    for (const name of ["halyard_tenant_messages_received_total", "halyard_tenant_messages_sent_total", "halyard_tenant_queued_messages", "halyard_tenant_retained_messages"]) {
      expect(value(after, name, g), `${name}{tenant="globex"}`).toBe(0);
    }

    // Broker-wide: moved by the same traffic.
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - (value(before, name, labels) || 0);
    expect(delta("halyard_messages_received_total")).toBe(6);
    expect(delta("halyard_messages_sent_total")).toBeGreaterThanOrEqual(10);
    expect(delta("halyard_received_bytes_total")).toBeGreaterThan(0);
    expect(delta("halyard_sent_bytes_total")).toBeGreaterThan(0);
    expect(delta("halyard_connections_accepted_total")).toBe(5);
    expect(delta("halyard_connections_refused_total")).toBe(1);
    expect(delta("halyard_denials_total", { reason: "publish" })).toBe(1);
    expect(value(after, "halyard_connections")).toBe(4);
    expect(value(after, "halyard_inflight_messages")).toBe(5);
    expect(value(after, "halyard_queued_messages")).toBe(5);
    expect(value(after, "halyard_queued_bytes")).toBe(25);
    expect(value(after, "halyard_retained_messages")).toBeGreaterThanOrEqual(1);

    // Authentication latency: a histogram by method and result. The parser folds a labelled
    // histogram into one sample, so its series are read from the exposition lines themselves.
    expect(after.get("halyard_auth_duration_seconds")?.type).toBe("HISTOGRAM");
    const series = (suffix: string, labels: string) =>
      Number(new RegExp(`^halyard_auth_duration_seconds_${suffix}\\{${labels}\\} (\\S+)$`, "m").exec(after.text)?.[1] ?? NaN);
    expect(series("count", 'method="password",result="success"')).toBe(5);
    expect(series("count", 'method="password",result="failure"')).toBe(1);
    expect(series("sum", 'method="password",result="success"')).toBeGreaterThan(0);
    expect(series("bucket", 'le="\\+Inf",method="password",result="success"')).toBe(5);
    // Cumulative buckets: never decreasing towards +Inf.
    const buckets = [...after.text.matchAll(/^halyard_auth_duration_seconds_bucket\{le="([^"]+)",method="password",result="success"\} (\d+)$/gm)].map((m) => Number(m[2]));
    expect(buckets.length).toBeGreaterThan(5);
    expect(buckets).toEqual([...buckets].sort((x, y) => x - y));
  });

  it("drops by reason: a full queue is counted broker-wide and for the tenant", async () => {
    const before = await scrape();
    // Shrink the queue of new deliveries (as a configuration reload would) and overflow the offline session.
    api.broker.app.get((await import("../src/mqtt/mqtt.service.ts")).MqttService).broker.updateOptions({ maxQueuedMessages: 5 });
    const pub = clients[0] as Client;
    for (let i = 0; i < 3; i++) await publish(pub, "t/y", "z", { qos: 1 });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - (value(before, name, labels) || 0);
    expect(delta("halyard_messages_dropped_total", { reason: "queue-full" })).toBe(3);
    expect(delta("halyard_tenant_messages_dropped_total", { tenant: "acme", reason: "queue-full" })).toBe(3);
    expect(value(after, "halyard_tenant_queued_messages", { tenant: "acme" })).toBe(5);
  });
});
