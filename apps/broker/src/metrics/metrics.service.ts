import { Inject, Injectable } from "@nestjs/common";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import packageJson from "../../package.json" with { type: "json" };
import { Readiness } from "../health/readiness.ts";
import { MqttService } from "../mqtt/mqtt.service.ts";
import { ANONYMOUS_MOUNT } from "../mqtt/tenancy/tenant-hooks.ts";
import type { TenantCounters } from "../mqtt/tenancy/tenant-stats.ts";

/**
 * Prometheus exposition of the broker: broker-wide series and per-tenant
 * series (label `tenant`), read at scrape time from the counters the engine
 * and the tenancy layer keep anyway, so metrics cost nothing per message.
 *
 * Naming follows Prometheus conventions: `halyard_` prefix, base units named
 * as a suffix (`_bytes`, `_seconds`), `_total` on counters. Cardinality is
 * bounded: the only unbounded label is `tenant` (one value per tenant, never
 * a client id or a topic); `reason`, `method` and `result` are small fixed
 * sets. Node.js process series (CPU, memory, event-loop lag as
 * `halyard_nodejs_eventloop_lag_seconds`, ...) come from prom-client's
 * defaults under the same prefix.
 */

/** What one pass over the sessions and retained messages yields per tenant, taken once per scrape. */
interface TenantGauges {
  sessions: number;
  subscriptions: number;
  inflight: number;
  queued: number;
  queuedBytes: number;
  retained: number;
}

interface Snapshot {
  inflight: number;
  queued: number;
  queuedBytes: number;
  tenants: Map<string, TenantGauges>;
}

@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private snapshot: Snapshot | undefined;

  constructor(
    @Inject(MqttService) private readonly mqtt: MqttService,
    @Inject(Readiness) readiness: Readiness,
  ) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: "halyard_" });
    // Gauges named like counters; the same figures stay available by type in halyard_nodejs_active_{handles,requests,resources}.
    for (const name of ["handles", "requests", "resources"]) r.removeSingleMetric(`halyard_nodejs_active_${name}_total`);
    r.registerMetric(mqtt.authDuration);
    r.registerMetric(mqtt.bridges.messagesTotal);
    const stats = () => mqtt.broker.stats;
    const tenants = () => [...mqtt.tenancy.stats.entries()];
    const snap = () => (this.snapshot ??= this.takeSnapshot());

    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });
    const byReason = (name: string, help: string, read: () => Iterable<[string, number]>) =>
      new Counter({
        name,
        help,
        labelNames: ["reason"],
        registers: [r],
        collect() {
          this.reset();
          for (const [reason, n] of read()) this.inc({ reason }, n);
        },
      });

    new Gauge({
      name: "halyard_build_info",
      help: "Always 1; the version label names the running build.",
      labelNames: ["version"],
      registers: [r],
      collect() { this.set({ version: packageJson.version }, 1); },
    });
    new Gauge({
      name: "halyard_ready",
      help: "1 when /health/ready answers ready, else 0 (starting, migrating, database-unavailable, draining).",
      registers: [r],
      async collect() { this.set((await readiness.check()) === "ready" ? 1 : 0); },
    });

    gauge("halyard_connections", "Connected MQTT clients.", () => stats().connections);
    counter("halyard_connections_accepted_total", "Connections accepted since start.", () => stats().connectionsTotal);
    counter("halyard_connections_refused_total", "CONNECTs refused since start.", () => stats().connectionsRefused);
    counter("halyard_messages_received_total", "PUBLISH messages routed (from clients and wills).", () => stats().messagesReceived);
    counter("halyard_messages_sent_total", "PUBLISH packets written to clients.", () => stats().messagesSent);
    counter("halyard_received_bytes_total", "Bytes read from MQTT clients (all packets).", () => stats().bytesReceived);
    counter("halyard_sent_bytes_total", "Bytes written to MQTT clients (all packets).", () => stats().bytesSent);
    counter("halyard_malformed_packets_total", "Connections closed for malformed or oversized packets.", () => stats().malformedPackets);
    counter("halyard_authorization_denials_total", "PUBLISH and SUBSCRIBE refused by topic permissions.", () => stats().authorizationDenials);
    counter("halyard_store_errors_total", "Durable-store batches that failed.", () => stats().storeErrors);
    byReason("halyard_messages_dropped_total", "Messages dropped, by reason (queue-full, expired, too-large, slow-consumer, ...).", () =>
      Object.entries(stats().drops),
    );
    byReason("halyard_denials_total", "Refusals of tenants' clients, by reason (publish, subscribe, deliver, quota-..., packet-too-large, ...).", () => {
      const sum = new Map<string, number>();
      for (const [, c] of tenants()) for (const [reason, n] of Object.entries(c.denials)) sum.set(reason, (sum.get(reason) ?? 0) + n);
      return sum;
    });
    gauge("halyard_subscriptions", "Subscriptions in the routing index.", () => stats().subscriptions);
    gauge("halyard_retained_messages", "Retained messages (including $SYS topics).", () => mqtt.broker.retained.size);
    gauge("halyard_sessions", "Sessions (connected and offline persistent).", () => mqtt.broker.sessions.size);
    gauge("halyard_inflight_messages", "QoS 1/2 deliveries sent and awaiting acknowledgement.", () => snap().inflight);
    gauge("halyard_queued_messages", "Messages queued in sessions (client offline or in-flight window full).", () => snap().queued);
    gauge("halyard_queued_bytes", "Payload bytes queued in sessions.", () => snap().queuedBytes);

    /** Metrics labelled by tenant, each tenant's value read at scrape time from what `rows` lists (counters, or the session snapshot). */
    const perTenantOf =
      <T>(rows: () => Iterable<[string, T]>) =>
      (name: string, help: string, kind: "gauge" | "counter", read: (x: T) => number) => {
        const Metric = kind === "gauge" ? Gauge : Counter;
        new Metric({
          name,
          help,
          labelNames: ["tenant"],
          registers: [r],
          collect() {
            this.reset();
            for (const [tenant, x] of rows()) (this as Gauge).inc({ tenant }, read(x));
          },
        });
      };
    const perTenant = perTenantOf<TenantCounters>(tenants);
    perTenant("halyard_tenant_connections", "Connected devices per tenant.", "gauge", (c) => c.connections);
    perTenant("halyard_tenant_messages_received_total", "Messages published by a tenant's devices.", "counter", (c) => c.messagesIn);
    perTenant("halyard_tenant_messages_sent_total", "Messages delivered to a tenant's devices.", "counter", (c) => c.messagesOut);
    perTenant("halyard_tenant_received_bytes_total", "Payload bytes published by a tenant's devices.", "counter", (c) => c.bytesIn);
    perTenant("halyard_tenant_sent_bytes_total", "Payload bytes delivered to a tenant's devices.", "counter", (c) => c.bytesOut);
    perTenant("halyard_tenant_auth_failures_total", "Failed authentications naming the tenant.", "counter", (c) => c.authFailures);

    const perTenantByReason = (name: string, help: string, read: (c: TenantCounters) => Record<string, number>) =>
      new Counter({
        name,
        help,
        labelNames: ["tenant", "reason"],
        registers: [r],
        collect() {
          this.reset();
          for (const [tenant, c] of tenants()) for (const [reason, n] of Object.entries(read(c))) this.inc({ tenant, reason }, n);
        },
      });
    perTenantByReason("halyard_tenant_messages_dropped_total", "Messages dropped per tenant, by reason (quota, queue full, expired, ...).", (c) => c.drops);
    perTenantByReason("halyard_tenant_denials_total", "Refusals per tenant, by what was refused (publish, subscribe, deliver, quota-...).", (c) => c.denials);

    const fromSnapshot = perTenantOf<TenantGauges>(() => snap().tenants);
    const perTenantGauge = (name: string, help: string, read: (g: TenantGauges) => number) => fromSnapshot(name, help, "gauge", read);
    perTenantGauge("halyard_tenant_sessions", "Sessions per tenant (connected and offline persistent).", (g) => g.sessions);
    perTenantGauge("halyard_tenant_subscriptions", "Subscriptions held by a tenant's sessions.", (g) => g.subscriptions);
    perTenantGauge("halyard_tenant_inflight_messages", "QoS 1/2 deliveries to a tenant's devices awaiting acknowledgement.", (g) => g.inflight);
    perTenantGauge("halyard_tenant_queued_messages", "Messages queued in a tenant's sessions.", (g) => g.queued);
    perTenantGauge("halyard_tenant_queued_bytes", "Payload bytes queued in a tenant's sessions.", (g) => g.queuedBytes);
    perTenantGauge("halyard_tenant_retained_messages", "Retained messages in a tenant's namespace (not counting its $SYS topics).", (g) => g.retained);
  }

  /** One pass over the sessions (by tenant mount) and each tenant's retained subtree. */
  private takeSnapshot(): Snapshot {
    const s: Snapshot = { inflight: 0, queued: 0, queuedBytes: 0, tenants: new Map() };
    const of = (slug: string): TenantGauges => {
      let g = s.tenants.get(slug);
      if (!g) s.tenants.set(slug, (g = { sessions: 0, subscriptions: 0, inflight: 0, queued: 0, queuedBytes: 0, retained: 0 }));
      return g;
    };
    for (const [slug] of this.mqtt.tenancy.stats.entries()) of(slug);
    for (const session of this.mqtt.broker.sessions.values()) {
      s.inflight += session.inflight.size;
      s.queued += session.queue.length;
      s.queuedBytes += session.queuedBytes;
      // Keys are `<mount>\0<clientId>`; tenants' mounts are `<slug>/`.
      const end = session.key.indexOf("/\u0000");
      if (end <= 0 || session.key.slice(0, end + 1) === ANONYMOUS_MOUNT) continue;
      const g = of(session.key.slice(0, end));
      g.sessions++;
      g.subscriptions += session.subscriptions.size;
      g.inflight += session.inflight.size;
      g.queued += session.queue.length;
      g.queuedBytes += session.queuedBytes;
    }
    for (const [slug, g] of s.tenants) {
      const dollar = slug + "/$";
      g.retained = this.mqtt.broker.retained.match(slug + "/#").filter((m) => !m.topic.startsWith(dollar)).length;
    }
    return s;
  }

  async metrics(): Promise<string> {
    this.snapshot = undefined;
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = undefined;
    }
  }
}
