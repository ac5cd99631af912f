import { afterEach, describe, expect, it } from "vitest";
import { ReasonCode } from "../src/reason-codes.ts";
import { until } from "./core-util.ts";
import { startBroker, type TestBroker } from "./harness.ts";
import { connectRaw } from "./raw-client.ts";

/**
 * What the control plane reads about connected clients (the console's
 * connected-clients view): `Broker#clients()` with each channel's CONNECT
 * facts, session state and subscriptions, and `disconnectWhere`.
 */
describe("admin view of connected clients", () => {
  let t: TestBroker | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("exposes connectedAt, cleanStart, keep-alive, expiry, subscriptions and in-flight/queued counts", async () => {
    t = await startBroker();
    const before = Date.now();
    const a = await t.connect({ clientId: "view-a", clean: false, keepalive: 42, properties: { sessionExpiryInterval: 300 } });
    await t.connect({ clientId: "view-b", protocolVersion: 4, clean: true, keepalive: 0 });
    await a.subscribeAsync("x/+", { qos: 1 });
    await a.subscribeAsync("$share/g/y/#", { qos: 0 });

    const channels = [...t.broker.clients()];
    expect(channels.map((c) => c.client?.clientId).sort()).toEqual(["view-a", "view-b"]);
    const ca = channels.find((c) => c.client?.clientId === "view-a")!;
    const cb = channels.find((c) => c.client?.clientId === "view-b")!;
    expect(ca.connectedAt).toBeGreaterThanOrEqual(before);
    expect(ca.connectedAt).toBeLessThanOrEqual(Date.now());
    expect(ca.cleanStart).toBe(false);
    expect(cb.cleanStart).toBe(true);
    expect(ca.keepAliveMs).toBe(42_000);
    expect(cb.keepAliveMs).toBe(0);
    expect(ca.protocolVersion).toBe(5);
    expect(cb.protocolVersion).toBe(4);
    expect(ca.session?.expiryInterval).toBe(300);
    expect(cb.session?.expiryInterval).toBe(0);
    const subs = [...(ca.session?.subscriptions.values() ?? [])].map((s) => ({ filter: s.filter, group: s.group, qos: s.qos }));
    expect(subs).toEqual([
      { filter: "x/+", group: undefined, qos: 1 },
      { filter: "y/#", group: "g", qos: 0 },
    ]);

    await t.close();
    t = await startBroker({ maxInflightOut: 2 });
    // A raw client that never acknowledges: two deliveries stay in flight, the rest queue behind its window.
    const slow = await connectRaw(t, 5, { clientId: "slow", properties: { receiveMaximum: 2 } });
    await slow.subscribe("q", 1);
    const pub = await t.connect({ clientId: "pub" });
    for (let i = 0; i < 5; i++) await pub.publishAsync("q", `m${i}`, { qos: 1 });
    await slow.nextPackets(2, "publish");
    const view = [...t.broker.clients()].find((c) => c.client?.clientId === "slow")!;
    expect(view.session?.inflight.size).toBe(2);
    expect(view.session?.queue.length).toBe(3);
    slow.destroy();
  });

  it("disconnectWhere sends a v5 client DISCONNECT 0x98 (Administrative action)", async () => {
    t = await startBroker();
    const c = await t.connect({ clientId: "kick-me" });
    const keep = await t.connect({ clientId: "keep-me" });
    const reason = new Promise<number | undefined>((resolve) => c.once("disconnect", (p) => resolve(p.reasonCode)));
    const n = t.broker.disconnectWhere((client) => client.clientId === "kick-me", ReasonCode.AdministrativeAction);
    expect(n).toBe(1);
    expect(await reason).toBe(0x98);
    expect(keep.connected).toBe(true);
    await until(() => !t!.broker.connected.has("kick-me"), 3000, "kick-me detached");
    expect([...t.broker.clients()].map((ch) => ch.client?.clientId)).toEqual(["keep-me"]);
  });
});
