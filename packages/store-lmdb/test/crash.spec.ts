import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import mqttPacket from "mqtt-packet";
import { afterEach, describe, expect, it } from "vitest";
import type { Durability } from "../src/index.ts";
import { RawClient } from "./raw.ts";
import { removeDir, tempDir, until } from "./util.ts";

/**
 * An acknowledgement is a promise that the state behind it is stored: with
 * durability "fsync" (and "commit", for a process crash) a broker killed with
 * SIGKILL right after sending PUBACK / SUBACK must still have what it
 * acknowledged when it comes back.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, "fixtures", "broker-process.ts");

const children = new Set<ChildProcess>();
const clients = new Set<MqttClient>();
const dirs: string[] = [];

afterEach(() => {
  for (const c of clients) c.end(true);
  clients.clear();
  for (const child of children) child.kill("SIGKILL");
  children.clear();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

async function startProcess(dir: string, durability: Durability): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dir, durability], { cwd: here, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let out = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker process did not start: ${err}`)), 15_000);
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code) => reject(new Error(`broker process exited (${code}): ${err}`)));
  });
  return { child, url: `mqtt://127.0.0.1:${port}`, exited };
}

async function connect(url: string, clientId: string, opts: IClientOptions = {}): Promise<{ client: MqttClient; sessionPresent: boolean; got: string[] }> {
  const client = mqtt.connect(url, { protocolVersion: 5, clientId, reconnectPeriod: 0, ...opts });
  clients.add(client);
  const got: string[] = [];
  client.on("message", (_t, payload) => got.push(payload.toString()));
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  return { client, sessionPresent: connack.sessionPresent, got };
}

const persistent: IClientOptions = { clean: false, properties: { sessionExpiryInterval: 300 } };

describe("SIGKILL right after acknowledgements", () => {
  for (const durability of ["fsync", "commit"] as const) {
    it(`"${durability}": everything acknowledged before the kill is there after the restart`, async () => {
      const dir = tempDir("halyard-crash-");
      dirs.push(dir);
      let broker = await startProcess(dir, durability);
      // SUBACK promises the subscription; the kill follows the SUBACK at once.
      let sub = await connect(broker.url, "sub", persistent);
      await sub.client.subscribeAsync({ "c/1": { qos: 1 }, "c/2": { qos: 2 } });
      sub.client.end(true);
      clients.delete(sub.client);

      const pub = await connect(broker.url, "pub");
      const acked: string[] = [];
      let retainedAcked = false;
      let killed = false;
      const total = 400;
      pub.client.publish("r/kept", "retained", { qos: 1, retain: true }, (err) => {
        if (!err) retainedAcked = true;
      });
      for (let i = 0; i < total; i++) {
        const payload = `m${i}`;
        pub.client.publish(i % 2 === 0 ? "c/1" : "c/2", payload, { qos: i % 2 === 0 ? 1 : 2 }, (err) => {
          if (err) return;
          acked.push(payload);
          if (acked.length === 50 && !killed) {
            killed = true;
            broker.child.kill("SIGKILL");
          }
        });
      }
      await broker.exited;
      // Acks already in the client's socket buffer when the process died still count.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const promised = [...acked];
      pub.client.end(true);
      expect(killed).toBe(true);
      expect(promised.length).toBeGreaterThanOrEqual(50);

      broker = await startProcess(dir, durability);
      sub = await connect(broker.url, "sub", persistent);
      expect(sub.sessionPresent).toBe(true);
      await until(() => promised.every((p) => sub.got.includes(p)), 5000, "every acknowledged message");
      const late = await connect(broker.url, "late");
      const retained: string[] = [];
      late.client.on("message", (topic) => retained.push(topic));
      await late.client.subscribeAsync("r/#", { qos: 1 });
      if (retainedAcked) await until(() => retained.includes("r/kept"), 3000, "acknowledged retained message");
      // The subscription itself survived: a new message is routed.
      await late.client.publishAsync("c/1", "after", { qos: 1 });
      await until(() => sub.got.includes("after"), 3000, "message after the restart");
    }, 30_000);

    it(`"${durability}": a QoS 2 packet id freed by PUBCOMP is free after a kill right behind it [MQTT-4.3.3-12]`, async () => {
      const dir = tempDir("halyard-crash-");
      dirs.push(dir);
      let broker = await startProcess(dir, durability);
      let sub = await connect(broker.url, "ids-sub", persistent);
      await sub.client.subscribeAsync("ids/#", { qos: 1 });
      sub.client.end(true);
      clients.delete(sub.client);

      const session = { clientId: "ids-pub", clean: false, properties: { sessionExpiryInterval: 300 } };
      let pub = await RawClient.open(Number(new URL(broker.url).port), 5);
      await pub.connect(session);
      const n = 100;
      const publish = (id: number, payload: string) =>
        ({ cmd: "publish", topic: "ids/a", payload: Buffer.from(payload), qos: 2, messageId: id, retain: false, dup: false }) as const;
      for (let id = 1; id <= n; id++) pub.send(publish(id, `first-${id}`));
      for (let id = 1; id <= n; id++) expect((await pub.next("pubrec")).messageId).toBe(id);
      // Every PUBREL in one write; the broker dies as soon as the first PUBCOMP is here.
      pub.socket.write(Buffer.concat(Array.from({ length: n }, (_, i) => mqttPacket.generate({ cmd: "pubrel", messageId: i + 1 }, { protocolVersion: 5 }))));
      const completed = [(await pub.next("pubcomp")).messageId as number];
      broker.child.kill("SIGKILL");
      await broker.exited;
      for (;;) {
        const more = await pub.next("pubcomp", 100).catch(() => undefined);
        if (!more) break;
        completed.push(more.messageId as number);
      }
      pub.destroy();

      // After PUBCOMP the client may send a new message under the same id: it must be routed,
      // not taken for a retransmission of the one before.
      broker = await startProcess(dir, durability);
      sub = await connect(broker.url, "ids-sub", persistent);
      pub = await RawClient.open(Number(new URL(broker.url).port), 5);
      expect((await pub.connect(session)).sessionPresent).toBe(true);
      for (const id of completed) pub.send(publish(id, `second-${id}`));
      for (const id of completed) expect((await pub.next("pubrec")).messageId).toBe(id);
      for (const id of completed) pub.send({ cmd: "pubrel", messageId: id });
      for (const id of completed) {
        const pubcomp = await pub.next("pubcomp");
        expect([pubcomp.messageId, pubcomp.reasonCode ?? 0]).toEqual([id, 0]);
      }
      pub.destroy();
      const expected = [...Array.from({ length: n }, (_, i) => `first-${i + 1}`), ...completed.map((id) => `second-${id}`)];
      await until(() => expected.every((m) => sub.got.includes(m)), 5000, "every acknowledged message").catch(() => undefined);
      expect(expected.filter((m) => !sub.got.includes(m))).toEqual([]);
    }, 30_000);
  }
});
