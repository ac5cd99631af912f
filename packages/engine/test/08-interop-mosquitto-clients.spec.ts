import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { brokerFor, until, VERSIONS, type Version } from "./core-util.ts";
import { nextMessages, type TestBroker } from "./harness.ts";

/**
 * Interoperability with an independent implementation: Eclipse Mosquitto's
 * command line clients (libmosquitto) publish and subscribe through the
 * engine at MQTT 3.1, 3.1.1 and 5.0.
 */

const MOSQUITTO_PUB = "/usr/bin/mosquitto_pub";
const MOSQUITTO_SUB = "/usr/bin/mosquitto_sub";
// scripts/setup.sh installs mosquitto-clients; their absence is an install failure, not a reason to skip.
if (!existsSync(MOSQUITTO_PUB) || !existsSync(MOSQUITTO_SUB)) {
  throw new Error(`${MOSQUITTO_PUB} and ${MOSQUITTO_SUB} are required (apt-get install mosquitto-clients; run scripts/setup.sh)`);
}

const FLAG: Record<Version | 3, string> = { 3: "mqttv31", 4: "mqttv311", 5: "mqttv5" };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function target(t: TestBroker, v: Version | 3): string[] {
  return ["-h", "127.0.0.1", "-p", String(t.port), "-V", FLAG[v]];
}

/** Runs mosquitto_pub to completion. */
function mosquittoPub(t: TestBroker, v: Version | 3, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(MOSQUITTO_PUB, [...target(t, v), ...args], { timeout: 5000 }, (err, stdout, stderr) => {
      // On a non-zero exit, execFile's error carries the exit status as `code`.
      const code: unknown = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
    });
  });
}

/**
 * Starts mosquitto_sub with client id `id`, waits until the broker holds its
 * `subscriptions` new subscriptions (0: no wait, e.g. a resumed session), and
 * returns a promise of its output once it exits.
 */
async function mosquittoSub(t: TestBroker, v: Version | 3, id: string, args: string[], subscriptions = 1): Promise<{ done: Promise<Result> }> {
  const before = t.broker.stats.subscriptions;
  const child = spawn(MOSQUITTO_SUB, [...target(t, v), "-i", id, "-W", "8", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  if (subscriptions === 0) return { done };
  const ready = () => t.broker.stats.subscriptions >= before + subscriptions;
  await until(() => ready() || child.exitCode !== null, 5000, `${id} subscribed`);
  if (!ready()) throw new Error(`mosquitto_sub exited early: ${stderr}`);
  return { done };
}

function lines(out: string): string[] {
  return out.split("\n").filter((l) => l.length > 0);
}

describe("08 interop with mosquitto_pub / mosquitto_sub 2.0", () => {
  for (const v of VERSIONS) {
    describe(`${FLAG[v]}`, () => {
      it("mosquitto_sub receives QoS 0/1/2 messages from mosquitto_pub through the broker", async (ctx) => {
        const t = await brokerFor(ctx);
        const sub = await mosquittoSub(t, v, `msub-${v}`, ["-t", "t/#", "-q", "2", "-C", "3", "-v"]);
        for (const qos of [0, 1, 2]) {
          const r = await mosquittoPub(t, v, ["-i", `mpub-${v}-${qos}`, "-t", `t/q${qos}`, "-m", `hello ${qos}`, "-q", String(qos)]);
          expect(r.code, r.stderr).toBe(0);
        }
        const out = await sub.done;
        expect(out.code, out.stderr).toBe(0);
        expect(lines(out.stdout)).toEqual(["t/q0 hello 0", "t/q1 hello 1", "t/q2 hello 2"]);
      });

      it("mosquitto_sub sees the QoS granted (min of publish and subscription) and the RETAIN flag", async (ctx) => {
        const t = await brokerFor(ctx);
        const retained = await mosquittoPub(t, v, ["-t", "r/kept", "-m", "stored", "-q", "2", "-r"]);
        expect(retained.code, retained.stderr).toBe(0);
        expect(t.broker.retained.size).toBe(1);
        // %r retain flag, %q QoS, %t topic, %p payload.
        const sub = await mosquittoSub(t, v, `fmt-${v}`, ["-t", "r/#", "-q", "1", "-C", "3", "-F", "%r %q %t %p"]);
        const pub = await t.connect({ protocolVersion: v });
        await pub.publishAsync("r/live2", "two", { qos: 2 });
        await pub.publishAsync("r/live0", "zero", { qos: 0 });
        const out = await sub.done;
        expect(out.code, out.stderr).toBe(0);
        expect(lines(out.stdout)).toEqual(["1 1 r/kept stored", "0 1 r/live2 two", "0 0 r/live0 zero"]);
      });

      it("an MQTT.js subscriber receives mosquitto_pub messages at each QoS, retained ones with RETAIN=1", async (ctx) => {
        const t = await brokerFor(ctx);
        const r = await mosquittoPub(t, v, ["-t", "m/retained", "-m", "old news", "-q", "1", "-r"]);
        expect(r.code, r.stderr).toBe(0);
        const sub = await t.connect({ protocolVersion: v, clientId: `js-${v}` });
        const got = nextMessages(sub, 4);
        await sub.subscribeAsync("m/#", { qos: 2 });
        for (const qos of [0, 1, 2]) {
          const p = await mosquittoPub(t, v, ["-t", `m/${qos}`, "-m", `q${qos}`, "-q", String(qos)]);
          expect(p.code, p.stderr).toBe(0);
        }
        const msgs = await got;
        expect(msgs.map((m) => [m.topic, m.payload.toString(), m.packet.qos, m.packet.retain])).toEqual([
          ["m/retained", "old news", 1, true],
          ["m/0", "q0", 0, false],
          ["m/1", "q1", 1, false],
          ["m/2", "q2", 2, false],
        ]);
      });

      it("mosquitto_pub -r with an empty message clears the retained message", async (ctx) => {
        const t = await brokerFor(ctx);
        expect((await mosquittoPub(t, v, ["-t", "c/x", "-m", "x", "-r"])).code).toBe(0);
        expect(t.broker.retained.size).toBe(1);
        expect((await mosquittoPub(t, v, ["-t", "c/x", "-n", "-r"])).code).toBe(0);
        expect(t.broker.retained.size).toBe(0);
      });

      it("a persistent mosquitto_sub session (-c) receives the QoS 1 message queued while it was offline", async (ctx) => {
        const t = await brokerFor(ctx);
        const id = `persist-${v}`;
        const session = v === 5 ? ["-c", "-x", "60"] : ["-c"];
        const first = await mosquittoSub(t, v, id, [...session, "-t", "p/#", "-q", "1", "-E"]);
        expect((await first.done).code).toBe(0);
        await until(() => !t.broker.connected.has(id));
        expect((await mosquittoPub(t, v, ["-t", "p/queued", "-m", "while away", "-q", "1"])).code).toBe(0);
        // The session brings the subscription and the queued message back: nothing new to wait for.
        const second = await mosquittoSub(t, v, id, [...session, "-t", "p/#", "-q", "1", "-C", "1", "-v"], 0);
        const out = await second.done;
        expect(out.code, out.stderr).toBe(0);
        expect(lines(out.stdout)).toEqual(["p/queued while away"]);
      });
    });
  }

  it("mqttv5: user properties and content type from mosquitto_pub reach an MQTT.js v5 subscriber", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await t.connect({ protocolVersion: 5 });
    await sub.subscribeAsync("props", { qos: 1 });
    const got = nextMessages(sub, 1);
    const r = await mosquittoPub(t, 5, [
      "-t",
      "props",
      "-m",
      "{}",
      "-q",
      "1",
      "-D",
      "PUBLISH",
      "user-property",
      "origin",
      "mosquitto",
      "-D",
      "PUBLISH",
      "content-type",
      "application/json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [m] = await got;
    expect(m?.packet.properties?.userProperties).toEqual({ origin: "mosquitto" });
    expect(m?.packet.properties?.contentType).toBe("application/json");
  });

  it("mqttv5: mosquitto_sub prints user properties sent by an MQTT.js v5 publisher", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await mosquittoSub(t, 5, "props-sub", ["-t", "props", "-q", "1", "-C", "1", "-F", "%t %p %P"]);
    const pub = await t.connect({ protocolVersion: 5 });
    await pub.publishAsync("props", "body", { qos: 1, properties: { userProperties: { k: "v" } } });
    const out = await sub.done;
    expect(out.code, out.stderr).toBe(0);
    expect(lines(out.stdout)).toEqual(["props body k:v"]);
  });

  it("mqttv31 (MQIsdp, level 3): mosquitto_pub and mosquitto_sub work at protocol level 3", async (ctx) => {
    const t = await brokerFor(ctx);
    const sub = await mosquittoSub(t, 3, "legacy-sub", ["-t", "l/#", "-q", "2", "-C", "2", "-v"]);
    expect((await mosquittoPub(t, 3, ["-i", "legacy-pub", "-t", "l/1", "-m", "one", "-q", "1"])).code).toBe(0);
    expect((await mosquittoPub(t, 3, ["-i", "legacy-pub", "-t", "l/2", "-m", "two", "-q", "2"])).code).toBe(0);
    const out = await sub.done;
    expect(out.code, out.stderr).toBe(0);
    expect(lines(out.stdout)).toEqual(["l/1 one", "l/2 two"]);
  });
});
