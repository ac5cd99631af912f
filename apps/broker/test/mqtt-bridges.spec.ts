import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { schemas } from "@halyard/api-contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi, type Api } from "./api-harness.ts";
import { closeAll, connectDevice, inbox, provisionTenant, publish, sleep, subscribe, until, type Client, type Received, type TenantFixture } from "./mqtt-tenant-kit.ts";

/**
 * Bridges at work, against the machine's real Mosquitto (127.0.0.1:1883) as
 * the remote broker: out (tenant -> remote under a prefix), in (remote ->
 * tenant, prefix stripped), both without loops, QoS 1 buffered while the
 * remote is unreachable and delivered once the bridge points at a live one,
 * disabling stops forwarding, another tenant never sees bridged traffic, a
 * remote that refuses us shows `error` with its reason, and the status
 * endpoint's access rules. Mosquitto is shared, so every topic lives under a
 * random `halyard-test/<run>/` prefix.
 */

const MOSQUITTO = "mqtt://127.0.0.1:1883";
const RUN = `halyard-test/${randomBytes(6).toString("hex")}/`;

interface Status {
  state: string;
  lastError?: string;
  forwardedOut: number;
  forwardedIn: number;
  dropped: number;
  buffered: number;
  since: string;
}

function remote(opts: mqtt.IClientOptions = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(MOSQUITTO, { protocolVersion: 5, reconnectPeriod: 0, clientId: `halyard-test-${randomBytes(4).toString("hex")}`, ...opts });
    const box: Received[] = [];
    remoteBoxes.set(c, box);
    c.on("message", (topic, payload, packet) => box.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }));
    c.once("connect", () => resolve(c));
    c.once("error", reject);
  });
}
const remoteBoxes = new WeakMap<Client, Received[]>();
const rbox = (c: Client) => remoteBoxes.get(c)!;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe("MQTT bridges (remote: the machine's Mosquitto)", () => {
  let api: Api;
  let port: number;
  let acme: TenantFixture;
  let globex: TenantFixture;
  let viewer: string;
  const open: Client[] = [];
  const bridgeIds: string[] = [];

  const base = (slug: string) => `/api/v1/tenants/${slug}/bridges`;
  const createBridge = async (body: Record<string, unknown>, slug = "acme") => {
    const r = await api.call("POST", base(slug), { token: api.admin, body });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    bridgeIds.push(r.body.id);
    return r.body as { id: string };
  };
  const patch = async (id: string, body: Record<string, unknown>) => {
    const r = await api.call("PATCH", `${base("acme")}/${id}`, { token: api.admin, body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  const status = async (id: string, token = api.admin, slug = "acme"): Promise<Status> => {
    const r = await api.call("GET", `${base(slug)}/${id}/status`, { token });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const waitState = async (id: string, state: string, ms = 8000): Promise<Status> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await status(id);
      if (s.state === state) return s;
      if (Date.now() > deadline) throw new Error(`bridge ${id} is ${JSON.stringify(s)}, not ${state}`);
      await sleep(50);
    }
  };
  const device = async (t: TenantFixture, clientId: string) => {
    const c = await connectDevice(port, t.slug, t.devices[clientId]!);
    open.push(c);
    return c;
  };
  const mosquittoClient = async () => {
    const c = await remote();
    open.push(c);
    return c;
  };

  let globexWatcher: Client;

  beforeAll(async () => {
    api = await startApi("embedded");
    port = api.broker.ports.tcp!;
    expect(port).not.toBe(1883);
    acme = await provisionTenant(api, "acme", ["dev-1", "dev-2"]);
    globex = await provisionTenant(api, "globex", ["watcher"]);
    viewer = await api.userToken("vera", ["/tenants/acme/tenant_viewer"]);
    // Subscribed to everything in globex for the whole suite: no bridged message of acme may reach it.
    globexWatcher = await device(globex, "watcher");
    await subscribe(globexWatcher, "#");
  }, 60_000);

  afterAll(async () => {
    // Deleting the bridges ends their sessions on Mosquitto too.
    for (const id of bridgeIds) await api?.call("DELETE", `${base("acme")}/${id}`, { token: api.admin });
    await closeAll(...open);
    await api?.close();
  });

  it("out: a device's publishes reach Mosquitto under the prefix, with QoS and RETAIN; other topics stay local", async () => {
    const prefix = `${RUN}out/`;
    const sub = await mosquittoClient();
    await sub.subscribeAsync(`${prefix}#`, { qos: 1, rap: true });
    const b = await createBridge({ name: "out", remoteUrl: MOSQUITTO, direction: "out", localFilter: "tele/#", remotePrefix: prefix });
    await waitState(b.id, "connected");
    const dev = await device(acme, "dev-1");
    await publish(dev, "tele/a", "q1", { qos: 1 });
    await publish(dev, "tele/b", "q0", { qos: 0 });
    await publish(dev, "tele/r", "kept", { qos: 1, retain: true });
    await publish(dev, "other/x", "local-only", { qos: 1 });
    await until(() => rbox(sub).length >= 3, 5000, "forwarded messages");
    await sleep(200);
    expect(rbox(sub)).toEqual([
      { topic: `${prefix}tele/a`, payload: "q1", qos: 1, retain: false },
      { topic: `${prefix}tele/b`, payload: "q0", qos: 0, retain: false },
      { topic: `${prefix}tele/r`, payload: "kept", qos: 1, retain: true },
    ]);
    const s = await status(b.id);
    expect(s).toMatchObject({ state: "connected", forwardedOut: 3, forwardedIn: 0, buffered: 0 });
    expect(schemas.bridgeStatus.strict().parse(s)).toEqual(s);
    // Clear the retained message on the shared Mosquitto.
    await sub.publishAsync(`${prefix}tele/r`, "", { qos: 1, retain: true });
  });

  it("in: a publish to Mosquitto arrives at the tenant's subscriber with the prefix stripped", async () => {
    const prefix = `${RUN}in/`;
    const dev = await device(acme, "dev-2");
    await subscribe(dev, ["cmd/#", "elsewhere/#"]);
    const b = await createBridge({ name: "in", remoteUrl: MOSQUITTO, direction: "in", localFilter: "cmd/#", remotePrefix: prefix });
    await waitState(b.id, "connected");
    await sleep(100); // the remote SUBSCRIBE follows CONNACK
    const pub = await mosquittoClient();
    await pub.publishAsync(`${prefix}elsewhere/1`, "not bridged", { qos: 1 });
    await pub.publishAsync(`${prefix}cmd/1`, "hello", { qos: 1, properties: { userProperties: { origin: "cloud" } } });
    await pub.publishAsync(`${prefix}cmd/2`, "fire", { qos: 0 });
    await until(() => inbox(dev).length >= 2, 5000, "bridged commands");
    await sleep(200);
    expect(inbox(dev)).toEqual([
      { topic: "cmd/1", payload: "hello", qos: 1, retain: false },
      { topic: "cmd/2", payload: "fire", qos: 0, retain: false },
    ]);
    expect((await status(b.id)).forwardedIn).toBe(2);
  });

  it("both: no loop; every message arrives exactly once on each side", async () => {
    const prefix = `${RUN}both/`;
    const b = await createBridge({ name: "both", remoteUrl: MOSQUITTO, direction: "both", localFilter: "sync/#", remotePrefix: prefix });
    await waitState(b.id, "connected");
    await sleep(100);
    const localSub = await device(acme, "dev-1");
    await subscribe(localSub, "sync/#");
    const localPub = await device(acme, "dev-2");
    const remoteSub = await mosquittoClient();
    await remoteSub.subscribeAsync(`${prefix}#`, { qos: 1 });
    const remotePub = await mosquittoClient();
    for (let i = 0; i < 5; i++) {
      await publish(localPub, `sync/local-${i}`, `L${i}`, { qos: 1 });
      await remotePub.publishAsync(`${prefix}sync/remote-${i}`, `R${i}`, { qos: 1 });
    }
    await until(() => inbox(localSub).length >= 10 && rbox(remoteSub).length >= 10, 5000, "both sides");
    // Time for any echo to come round.
    await sleep(500);
    const local = inbox(localSub).map((m) => m.payload).sort();
    const far = rbox(remoteSub).map((m) => m.payload).sort();
    const all = [...Array(5).keys()].flatMap((i) => [`L${i}`, `R${i}`]).sort();
    expect(local).toEqual(all);
    expect(far).toEqual(all);
    expect(await status(b.id)).toMatchObject({ forwardedOut: 5, forwardedIn: 5 });
  });

  it("QoS 1 messages wait while the remote is unreachable and go out once the bridge points at a live one", async () => {
    const prefix = `${RUN}buffer/`;
    const closed = await freePort();
    const b = await createBridge({ name: "buffer", remoteUrl: `mqtt://127.0.0.1:${closed}`, direction: "out", localFilter: "buf/#", remotePrefix: prefix });
    const connecting = await waitState(b.id, "connecting");
    const dev = await device(acme, "dev-1");
    for (let i = 0; i < 5; i++) await publish(dev, `buf/${i}`, `m${i}`, { qos: 1 });
    await publish(dev, "buf/q0", "dropped while away", { qos: 0 });
    const waiting = await status(b.id);
    expect(waiting).toMatchObject({ state: "connecting", buffered: 5, forwardedOut: 0, dropped: 1 });
    expect(waiting.lastError ?? connecting.lastError).toMatch(/ECONNREFUSED/);
    const sub = await mosquittoClient();
    await sub.subscribeAsync(`${prefix}#`, { qos: 1 });
    await patch(b.id, { remoteUrl: MOSQUITTO });
    await waitState(b.id, "connected");
    await until(() => rbox(sub).length >= 5, 5000, "buffered messages");
    expect(rbox(sub).map((m) => [m.topic, m.payload, m.qos])).toEqual([...Array(5).keys()].map((i) => [`${prefix}buf/${i}`, `m${i}`, 1]));
    // PUBACKs may trail the subscriber's copies a little.
    const deadline = Date.now() + 3000;
    while ((await status(b.id)).forwardedOut < 5 && Date.now() < deadline) await sleep(20);
    expect(await status(b.id)).toMatchObject({ forwardedOut: 5, buffered: 0, dropped: 1 });
  });

  it("disabling a bridge stops forwarding; enabling it again resumes", async () => {
    const prefix = `${RUN}toggle/`;
    const sub = await mosquittoClient();
    await sub.subscribeAsync(`${prefix}#`, { qos: 1 });
    const b = await createBridge({ name: "toggle", remoteUrl: MOSQUITTO, direction: "out", localFilter: "t/#", remotePrefix: prefix });
    await waitState(b.id, "connected");
    const dev = await device(acme, "dev-2");
    await publish(dev, "t/1", "before", { qos: 1 });
    await until(() => rbox(sub).length === 1, 5000, "first message");
    await patch(b.id, { enabled: false });
    expect((await status(b.id, viewer)).state).toBe("disabled");
    await publish(dev, "t/2", "while disabled", { qos: 1 });
    await patch(b.id, { enabled: true });
    await waitState(b.id, "connected");
    await publish(dev, "t/3", "after", { qos: 1 });
    await until(() => rbox(sub).length >= 2, 5000, "message after re-enabling");
    await sleep(200);
    expect(rbox(sub).map((m) => m.payload)).toEqual(["before", "after"]);
  });

  it("a remote that refuses the connection shows state error with its reason", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-mosq-"));
    const p = await freePort();
    writeFileSync(path.join(dir, "m.conf"), `listener ${p} 127.0.0.1\nallow_anonymous false\npersistence false\n`);
    const proc: ChildProcess = spawn("mosquitto", ["-c", path.join(dir, "m.conf")], { stdio: "ignore" });
    try {
      const deadline = Date.now() + 5000;
      for (;;) {
        const ok = await new Promise<boolean>((r) => net.connect(p, "127.0.0.1").once("connect", function (this: net.Socket) { this.destroy(); r(true); }).once("error", () => r(false)));
        if (ok) break;
        if (Date.now() > deadline) throw new Error("private mosquitto did not start");
        await sleep(50);
      }
      const b = await createBridge({ name: "refused", remoteUrl: `mqtt://127.0.0.1:${p}`, direction: "in", localFilter: "x/#" });
      const s = await waitState(b.id, "error");
      expect(s.lastError).toMatch(/refused the connection: .*Not authorized.*0x87/);
    } finally {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("status: viewers may read it; another tenant gets 404; a bad id is 400; a deleted bridge is 404", async () => {
    const b = await createBridge({ name: "status", remoteUrl: MOSQUITTO, direction: "out", localFilter: "s/#", remotePrefix: `${RUN}status/`, enabled: false });
    expect((await status(b.id, viewer)).state).toBe("disabled");
    const gina = await api.userToken("gina", ["/tenants/globex/tenant_admin"]);
    expect((await api.call("GET", `${base("acme")}/${b.id}/status`, { token: gina })).status).toBe(404);
    expect((await api.call("GET", `${base("globex")}/${b.id}/status`, { token: gina })).status).toBe(404);
    const bad = await api.call("GET", `${base("acme")}/not-a-uuid/status`, { token: viewer });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    expect((await api.call("GET", `${base("acme")}/${b.id}/status`)).status).toBe(401);
    expect((await api.call("DELETE", `${base("acme")}/${b.id}`, { token: api.admin })).status).toBe(204);
    expect((await api.call("GET", `${base("acme")}/${b.id}/status`, { token: api.admin })).status).toBe(404);
  });

  it("figures: a 10k QoS 1 burst through an out bridge, and end-to-end latency", async () => {
    const prefix = `${RUN}burst/`;
    const sub = await mosquittoClient();
    // QoS 0 on the Mosquitto side: a QoS 1 subscriber there has 20 in flight and 1000 queued, and Mosquitto drops the rest.
    await sub.subscribeAsync(`${prefix}#`, { qos: 0 });
    const b = await createBridge({ name: "burst", remoteUrl: MOSQUITTO, direction: "out", localFilter: "burst/#", remotePrefix: prefix });
    await waitState(b.id, "connected");
    const dev = await device(acme, "dev-1");
    // Latency: one message at a time, device -> Halyard -> bridge -> Mosquitto -> subscriber.
    const lat: number[] = [];
    for (let i = 0; i < 100; i++) {
      const arrived = new Promise<void>((resolve) => sub.once("message", () => resolve()));
      const t0 = performance.now();
      dev.publish(`burst/lat`, `${i}`, { qos: 1 });
      await arrived;
      lat.push(performance.now() - t0);
    }
    lat.sort((x, y) => x - y);
    rbox(sub).length = 0;
    const N = 10_000;
    const payload = Buffer.alloc(100, 1);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) dev.publish(`burst/${i % 10}`, payload, { qos: 1 });
    await until(() => rbox(sub).length >= N, 30_000, "burst");
    const ms = performance.now() - t0;
    console.log(
      `bridge figures: 10k QoS1 burst in ${ms.toFixed(0)} ms (${Math.round(N / (ms / 1000))} msg/s); latency p50 ${lat[50]!.toFixed(2)} ms, p99 ${lat[98]!.toFixed(2)} ms`,
    );
    expect(rbox(sub).length).toBe(N);
    const deadline = Date.now() + 5000;
    while ((await status(b.id)).forwardedOut < N + 100 && Date.now() < deadline) await sleep(50);
    expect(await status(b.id)).toMatchObject({ forwardedOut: N + 100, dropped: 0, buffered: 0 });
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toContain(`halyard_bridge_messages_total{tenant="acme",bridge="burst",direction="out"} ${N + 100}`);
    expect(metrics).toContain(`halyard_bridge_messages_total{tenant="acme",bridge="in",direction="in"} 2`);
  }, 60_000);

  it("another tenant never received any bridged message", async () => {
    // Everything globex's watcher got: nothing at all (it lives alone in globex).
    await publish(globexWatcher, "marker", "globex", { qos: 1 });
    await until(() => inbox(globexWatcher).length >= 1, 3000, "own marker");
    expect(inbox(globexWatcher).map((m) => m.payload)).toEqual(["globex"]);
  });
});

/**
 * Two broker processes on one Postgres database: a bridge is one session at
 * the remote, so exactly one of them runs it (an advisory-lock lease); the
 * other shows "standby" and takes over when the first goes away.
 */
describe("bridges with several broker processes on one database", () => {
  let a: Api;
  let b: Api | undefined;
  let acme: TenantFixture;

  beforeAll(async () => {
    a = await startApi("postgres");
    b = await startApi("embedded", { DATABASE_URL: a.databaseUrl as string });
    acme = await provisionTenant(a, "acme", ["dev-1"]);
  }, 90_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }

  const statusOn = async (api: Api, id: string): Promise<Status> =>
    (await api.call("GET", `/api/v1/tenants/acme/bridges/${id}/status`, { token: api.admin })).body as Status;

  it("exactly one process runs the bridge; the other takes over within seconds when it stops", async () => {
    const prefix = `${RUN}lease/`;
    const created = await a.call("POST", "/api/v1/tenants/acme/bridges", {
      token: a.admin,
      body: { name: "lease", remoteUrl: MOSQUITTO, direction: "out", localFilter: "tele/#", remotePrefix: prefix },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const states = async () => [(await statusOn(a, id)).state, b ? (await statusOn(b, id)).state : "gone"];
    await eventually(async () => (await states()).sort().join() === "connected,standby", 10_000, "one connected, one standby");
    const [stateA] = await states();
    const runner = stateA === "connected" ? "a" : "b";
    const survivor = runner === "a" ? b! : a;
    if (runner === "b") {
      await b!.close();
      b = undefined;
    } else {
      // Closing A would drop the test's Postgres database; stopping its bridges ends its lease connection, as a process exit does.
      await a.broker.app.get((await import("../src/mqtt/mqtt.service.ts")).MqttService).bridges.stop();
    }
    const started = Date.now();
    await eventually(async () => (await statusOn(survivor, id)).state === "connected", 15_000, "the standby process takes the bridge over");
    expect(Date.now() - started).toBeLessThan(12_000);
    // And it forwards: a device on the survivor publishes, Mosquitto receives.
    const sub = await remote();
    await sub.subscribeAsync(`${prefix}#`, { qos: 1 });
    const dev = await connectDevice(survivor.broker.ports.tcp!, "acme", acme.devices["dev-1"]!);
    await publish(dev, "tele/x", "after failover", { qos: 1 });
    await until(() => rbox(sub).some((m) => m.payload === "after failover"), 5000, "forwarded after failover");
    await closeAll(dev, sub);
    await survivor.call("DELETE", `/api/v1/tenants/acme/bridges/${id}`, { token: survivor.admin });
  });
});
