import { execFile } from "node:child_process";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBrokerExpectingFailure, startBrokerProcess, type BrokerProcess } from "./broker-process.ts";

const run = promisify(execFile);

describe("broker process: listeners, health, interop", () => {
  let b: BrokerProcess;
  beforeAll(async () => {
    b = await startBrokerProcess();
  });
  afterAll(async () => {
    await b?.stop();
  });

  it("reports readiness with its bound listeners", async () => {
    const live = await fetch(`http://127.0.0.1:${b.ports.http}/health/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${b.ports.http}/health/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; listeners: Record<string, number> };
    expect(body.status).toBe("ready");
    expect(body.listeners).toEqual({ tcp: b.ports.tcp, ws: b.ports.ws });
  });

  it("routes between a TCP client (v3.1.1) and a WebSocket client (v5) on /mqtt", async () => {
    const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.ports.tcp}`, { protocolVersion: 4, reconnectPeriod: 0 });
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${b.ports.ws}/mqtt`, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await ws.subscribeAsync("plant/+/temp", { qos: 1 });
      const got = new Promise<[string, string]>((resolve) => ws.once("message", (t, p) => resolve([t, p.toString()])));
      await tcp.publishAsync("plant/7/temp", "21.5", { qos: 1 });
      expect(await got).toEqual(["plant/7/temp", "21.5"]);
    } finally {
      await Promise.all([tcp.endAsync(), ws.endAsync()]);
    }
  });

  it("refuses WebSocket upgrades on other paths", async () => {
    const client = mqtt.connect(`ws://127.0.0.1:${b.ports.ws}/other`, { reconnectPeriod: 0, connectTimeout: 2000 });
    const outcome = await new Promise<string>((resolve) => {
      client.once("connect", () => resolve("connected"));
      client.once("error", () => resolve("error"));
      client.once("close", () => resolve("closed"));
    });
    client.end(true);
    expect(outcome).not.toBe("connected");
  });

  it("interoperates with mosquitto_sub and mosquitto_pub (independent client)", async () => {
    const port = String(b.ports.tcp);
    const sub = run("mosquitto_sub", ["-h", "127.0.0.1", "-p", port, "-t", "interop/#", "-C", "2", "-v", "-q", "2", "-V", "mqttv5", "-W", "10"]);
    await new Promise((r) => setTimeout(r, 400));
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "-t", "interop/a", "-m", "one", "-q", "1", "-V", "mqttv311"]);
    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "-t", "interop/b", "-m", "two", "-q", "2", "-V", "mqttv5"]);
    const { stdout } = await sub;
    expect(stdout.trim().split("\n")).toEqual(["interop/a one", "interop/b two"]);
  });
});

describe("broker process: configuration and shutdown", () => {
  it("refuses to start on an invalid setting and names it", async () => {
    const { code, stderr } = await runBrokerExpectingFailure({ HALYARD_MQTT_PORT: "70000" });
    expect(code).toBe(2);
    expect(stderr).toContain("HALYARD_MQTT_PORT");
  });

  it("refuses unknown HALYARD_ variables (typos do not pass silently)", async () => {
    const { code, stderr } = await runBrokerExpectingFailure({ HALYARD_MQTT_PROT: "1884" });
    expect(code).toBe(2);
    expect(stderr).toContain("HALYARD_MQTT_PROT");
  });

  it("on SIGTERM sends v5 clients DISCONNECT 0x8B (server shutting down) and exits 0", async () => {
    const b = await startBrokerProcess();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.ports.tcp}`, { protocolVersion: 5, reconnectPeriod: 0 });
    const disconnect = new Promise<number | undefined>((resolve) => client.once("disconnect", (p) => resolve(p.reasonCode)));
    const code = await b.stop("SIGTERM");
    expect(await disconnect).toBe(0x8b);
    expect(code).toBe(0);
    client.end(true);
  });
});
