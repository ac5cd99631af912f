import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt, { type MqttClient } from "mqtt";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBrokerProcess, type BrokerProcess } from "../../e2e/mqtt/broker-process.ts";

/**
 * `npm run demo` end to end: a real broker process, the demo as its own
 * process (exactly what the npm script runs), and checks made only from the
 * outside, through the admin API and an MQTT observer device of our own.
 */

const DEMO = path.join(path.dirname(fileURLToPath(import.meta.url)), "demo.ts");
const PASSWORD = "demo-test-admin-password";
const T = "/api/v1/tenants/smart-factory";
/** A control-plane database of its own on the machine's Postgres: the broker starts faster than on embedded PGlite. */
const POSTGRES = process.env.HALYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const DB = `halyard_demo_${randomBytes(4).toString("hex")}`;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("npm run demo", () => {
  let b: BrokerProcess;
  let token: string;
  let dir: string;
  const apiUrl = () => `http://127.0.0.1:${b.ports.http}`;
  const mqttUrl = () => `mqtt://127.0.0.1:${b.ports.tcp}`;

  function runDemo(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<Run> {
    const childEnv: Record<string, string | undefined> = {
      ...process.env,
      DEMO_API_URL: apiUrl(),
      DEMO_MQTT_URL: mqttUrl(),
      HALYARD_ADMIN_PASSWORD: PASSWORD,
      CONSOLE_PUBLIC_URL: undefined,
      ...env,
    };
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
    const proc = spawn(process.execPath, ["--import", "tsx", DEMO, ...args], { env: childEnv as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error(`demo did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
      }, timeoutMs);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function call<T = any>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await fetch(apiUrl() + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${DB}`);
    const url = new URL(POSTGRES);
    url.pathname = `/${DB}`;
    b = await startBrokerProcess({ HALYARD_ADMIN_PASSWORD: PASSWORD, DATABASE_URL: url.toString() });
    const res = await fetch(`${apiUrl()}/api/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: PASSWORD }),
    });
    token = ((await res.json()) as { accessToken: string }).accessToken;
    dir = mkdtempSync(path.join(tmpdir(), "halyard-demo-"));
  }, 60_000);

  afterAll(async () => {
    await b?.stop();
    await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses bad options and missing or wrong admin credentials, saying what to do", async () => {
    const zero = await runDemo(["--devices", "0"]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain("--devices must be a whole number from 1 to 3000");

    const unknown = await runDemo(["--frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--frobnicate");

    const noPassword = await runDemo(["--provision-only"], { HALYARD_ADMIN_PASSWORD: undefined });
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toContain("set HALYARD_ADMIN_PASSWORD");

    const wrong = await runDemo(["--provision-only", "--state", path.join(dir, "x.json")], { HALYARD_ADMIN_PASSWORD: "not-the-password" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/POST \/api\/v1\/auth\/token failed with 401/);

    // Nothing was created by any of these.
    expect((await fetch(`${apiUrl()}${T}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  }, 90_000);

  it("provisions the tenant, devices, group, roles, bindings and credentials through the API, idempotently", async () => {
    const state = path.join(dir, "state.json");
    const first = await runDemo(["--provision-only", "--state", state]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`tenant       smart-factory "Smart Factory" (created)`);
    expect(first.stdout).toContain("14 created, 0 updated, 0 unchanged");
    expect(first.stdout).toContain(`kept in ${state} (mode 600), not printed`);
    expect(statSync(state).mode & 0o777).toBe(0o600);

    const tenant = await call(`GET`, T);
    expect(tenant).toMatchObject({ slug: "smart-factory", name: "Smart Factory", status: "active" });
    const devices = (await call<{ items: { id: string; clientId: string; tags: string[] }[] }>("GET", `${T}/devices?pageSize=200`)).items;
    expect(devices.map((d) => d.clientId).sort()).toEqual(
      [
        "command-gateway",
        "line-controller-zone1",
        ...["zone1-machine1", "zone2-machine1", "zone1-machine2", "zone2-machine2"].flatMap((m) => ["energy", "temperature", "vibration"].map((k) => `${m}-${k}`)),
      ].sort(),
    );
    const roles = (await call<{ items: { name: string; rules: { action: string; topicFilter: string }[] }[] }>("GET", `${T}/roles`)).items;
    expect(roles.map((r) => r.name).sort()).toEqual(["command-gateway", "controller", "sensor"]);
    const controller = roles.find((r) => r.name === "controller")!;
    expect(controller.rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "subscribe", topicFilter: "factory/zone1/#" }),
        expect.objectContaining({ action: "publish", topicFilter: "factory/zone1/+/command" }),
      ]),
    );
    const groups = (await call<{ items: { name: string; memberCount: number }[] }>("GET", `${T}/groups`)).items;
    expect(groups).toEqual([expect.objectContaining({ name: "sensors", memberCount: 12 })]);
    expect((await call<{ total: number }>("GET", `${T}/bindings`)).total).toBe(3);
    const credentialCounts = async () =>
      Promise.all(devices.map(async (d) => (await call<{ items: { revokedAt: string | null }[] }>("GET", `${T}/devices/${d.id}/credentials`)).items.length));
    expect(await credentialCounts()).toEqual(devices.map(() => 1));

    // Second run: everything is found, nothing is created or changed.
    const auditBefore = (await call<{ total: number }>("GET", `${T}/audit?pageSize=1`)).total;
    const second = await runDemo(["--provision-only", "--state", state]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`"Smart Factory" (exists)`);
    expect(second.stdout).toContain("sensor (exists), controller (exists), command-gateway (exists)");
    expect(second.stdout).toContain("0 created, 0 updated, 14 unchanged");
    expect(second.stdout).toContain("0 created, 0 rotated, 14 reused");
    expect(second.stdout).toContain("0 created, 3 unchanged");
    expect((await call<{ total: number }>("GET", `${T}/audit?pageSize=1`)).total).toBe(auditBefore);
    expect((await call<{ total: number }>("GET", `${T}/bindings`)).total).toBe(3);
    expect((await call<{ total: number }>("GET", `${T}/devices`)).total).toBe(14);

    // Without the state file the passwords are unknown: rotated in place, never a second credential.
    const fresh = await runDemo(["--provision-only", "--state", path.join(dir, "fresh.json")]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout).toContain("0 created, 14 rotated, 0 reused");
    expect(await credentialCounts()).toEqual(devices.map(() => 1));
  }, 120_000);

  it("runs the devices over MQTT: retained JSON telemetry flows, a QoS 2 command is delivered and acknowledged", async () => {
    const state = path.join(dir, "run.json");
    expect((await runDemo(["--provision-only", "--state", state])).code).toBe(0);

    // Our own observer device in the tenant, allowed to read everything under factory/.
    const observer = await call<{ id: string }>("POST", `${T}/devices`, { clientId: "test-observer" });
    const role = await call<{ id: string }>("POST", `${T}/roles`, { name: "test-observer", rules: [{ effect: "allow", action: "subscribe", topicFilter: "factory/#" }] });
    await call("POST", `${T}/bindings`, { roleId: role.id, targetType: "device", targetId: observer.id });
    const cred = await call<{ password: string }>("POST", `${T}/devices/${observer.id}/credentials`, { username: "test-observer" });
    const connectObserver = (): Promise<MqttClient> =>
      mqtt.connectAsync(mqttUrl(), { clientId: "test-observer", username: "test-observer@smart-factory", password: cred.password, protocolVersion: 5, reconnectPeriod: 0 });
    const seen: { topic: string; qos: number; retain: boolean; body: any }[] = [];
    const watcher = await connectObserver();
    watcher.on("message", (topic, payload, packet) => seen.push({ topic, qos: packet.qos, retain: packet.retain, body: JSON.parse(payload.toString()) }));
    const [grant] = await watcher.subscribeAsync("factory/#", { qos: 2 });
    expect(grant?.qos).toBe(2);

    const run = await runDemo(["--duration", "10", "--state", state]);
    await watcher.endAsync();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Open http://localhost:3000/t/smart-factory to watch it live");
    expect(run.stdout).toMatch(/zone1\/machine1 acknowledged reduce-speed \(applied\)/);
    expect(run.stderr).toBe("");

    // Telemetry: JSON with value, unit and timestamp, from every sensor.
    const temps = seen.filter((m) => m.topic === "factory/zone1/machine1/temperature" && !m.retain);
    expect(temps.length).toBeGreaterThanOrEqual(5);
    expect(temps[0]!.body).toMatchObject({ sensor: "zone1-machine1-temperature", unit: "°C", value: expect.any(Number), ts: expect.any(String) });
    const sensorsHeard = new Set(seen.filter((m) => /^factory\/zone\d\/machine\d\/(temperature|vibration|energy)$/.test(m.topic)).map((m) => m.topic));
    expect(sensorsHeard.size).toBe(12);

    // The control loop: a command at QoS 2 to zone1/machine1, and its acknowledgement at QoS 2.
    const command = seen.find((m) => m.topic === "factory/zone1/machine1/command");
    expect(command).toMatchObject({ qos: 2, body: { command: "reduce-speed", id: expect.any(String) } });
    const ack = seen.find((m) => m.topic === "factory/zone1/machine1/ack");
    expect(ack).toMatchObject({ qos: 2, body: { commandId: command!.body.id, status: "applied", qos: 2 } });

    // The broker counted it, and kept the last values (and the clean "offline") retained.
    const stats = await call<{ totals: { messagesIn: number; messagesOut: number }; retained: number }>("GET", `${T}/stats`);
    expect(stats.totals.messagesIn).toBeGreaterThan(100);
    expect(stats.totals.messagesOut).toBeGreaterThan(100);
    expect(stats.retained).toBeGreaterThanOrEqual(12 + 14);
    const late = await connectObserver();
    const retained = new Map<string, any>();
    late.on("message", (topic, payload, packet) => {
      if (packet.retain) retained.set(topic, JSON.parse(payload.toString()));
    });
    await late.subscribeAsync("factory/#", { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    await late.endAsync();
    expect(retained.get("factory/zone2/machine2/energy")).toMatchObject({ unit: "kWh", powerUnit: "kW", value: expect.any(Number) });
    expect(retained.get("factory/status/line-controller-zone1")).toMatchObject({ status: "offline" });
  }, 120_000);
});
