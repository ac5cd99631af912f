import { Inject, Injectable } from "@nestjs/common";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { MqttService } from "../mqtt/mqtt.service.ts";

/**
 * Prometheus exposition of the broker: broker-wide series and per-tenant
 * series (label `tenant`), read from the counters the engine and the tenancy
 * layer keep anyway, at scrape time, so metrics cost nothing per message.
 * Names follow Prometheus conventions: `halyard_` prefix, base units,
 * `_total` for counters.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  constructor(@Inject(MqttService) mqtt: MqttService) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: "halyard_process_" });
    const stats = () => mqtt.broker.stats;
    const tenants = () => [...mqtt.tenancy.stats.entries()];

    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(read()); } });

    gauge("halyard_connections", "Connected MQTT clients.", () => stats().connections);
    counter("halyard_connections_accepted_total", "Connections accepted since start.", () => stats().connectionsTotal);
    counter("halyard_connections_refused_total", "CONNECTs refused since start.", () => stats().connectionsRefused);
    counter("halyard_messages_received_total", "PUBLISH messages routed (from clients and wills).", () => stats().messagesReceived);
    counter("halyard_messages_sent_total", "PUBLISH packets written to clients.", () => stats().messagesSent);
    counter("halyard_bytes_received_total", "Bytes read from clients.", () => stats().bytesReceived);
    counter("halyard_bytes_sent_total", "Bytes written to clients.", () => stats().bytesSent);
    counter("halyard_malformed_packets_total", "Connections closed for malformed or oversized packets.", () => stats().malformedPackets);
    counter("halyard_authorization_denials_total", "PUBLISH and SUBSCRIBE refused by topic permissions.", () => stats().authorizationDenials);
    counter("halyard_store_errors_total", "Durable-store batches that failed.", () => stats().storeErrors);
    gauge("halyard_subscriptions", "Subscriptions in the routing index.", () => stats().subscriptions);
    gauge("halyard_retained_messages", "Retained messages.", () => mqtt.broker.retained.size);
    gauge("halyard_sessions", "Sessions (connected and offline persistent).", () => mqtt.broker.sessions.size);

    new Counter({
      name: "halyard_messages_dropped_total",
      help: "Messages dropped, by reason.",
      labelNames: ["reason"],
      registers: [r],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(stats().drops)) this.inc({ reason }, n);
      },
    });
    new Gauge({
      name: "halyard_inflight_messages",
      help: "QoS 1/2 deliveries awaiting acknowledgement.",
      registers: [r],
      collect() {
        let n = 0;
        for (const s of mqtt.broker.sessions.values()) n += s.inflight.size;
        this.set(n);
      },
    });
    new Gauge({
      name: "halyard_queued_messages",
      help: "Messages queued in sessions (offline or window full).",
      registers: [r],
      collect() {
        let n = 0;
        for (const s of mqtt.broker.sessions.values()) n += s.queue.length;
        this.set(n);
      },
    });

    const perTenant = (name: string, help: string, kind: "gauge" | "counter", read: (c: ReturnType<typeof tenants>[number][1]) => number) => {
      const Metric = kind === "gauge" ? Gauge : Counter;
      new Metric({
        name,
        help,
        labelNames: ["tenant"],
        registers: [r],
        collect() {
          this.reset();
          for (const [tenant, c] of tenants()) (this as Gauge).inc({ tenant }, read(c));
        },
      });
    };
    perTenant("halyard_tenant_connections", "Connected devices per tenant.", "gauge", (c) => c.connections);
    perTenant("halyard_tenant_messages_received_total", "Messages published by a tenant's devices.", "counter", (c) => c.messagesIn);
    perTenant("halyard_tenant_messages_sent_total", "Messages delivered to a tenant's devices.", "counter", (c) => c.messagesOut);
    perTenant("halyard_tenant_bytes_received_total", "Payload bytes published by a tenant's devices.", "counter", (c) => c.bytesIn);
    perTenant("halyard_tenant_bytes_sent_total", "Payload bytes delivered to a tenant's devices.", "counter", (c) => c.bytesOut);
    perTenant("halyard_tenant_auth_failures_total", "Failed authentications naming the tenant.", "counter", (c) => c.authFailures);
    new Counter({
      name: "halyard_tenant_messages_dropped_total",
      help: "Messages dropped per tenant, by reason (quota, queue full, not authorized, ...).",
      labelNames: ["tenant", "reason"],
      registers: [r],
      collect() {
        this.reset();
        for (const [tenant, c] of tenants()) for (const [reason, n] of Object.entries(c.drops)) this.inc({ tenant, reason }, n);
      },
    });
    new Counter({
      name: "halyard_tenant_denials_total",
      help: "Refusals per tenant, by what was refused (publish, subscribe, deliver, quota-...).",
      labelNames: ["tenant", "reason"],
      registers: [r],
      collect() {
        this.reset();
        for (const [tenant, c] of tenants()) for (const [reason, n] of Object.entries(c.denials)) this.inc({ tenant, reason }, n);
      },
    });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
