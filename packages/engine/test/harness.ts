import { once } from "node:events";
import net from "node:net";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { Broker } from "../src/broker.ts";
import type { BrokerOptions } from "../src/options.ts";

/** A broker on an ephemeral TCP port, with MQTT.js clients that are closed together. */
export interface TestBroker {
  broker: Broker;
  port: number;
  url: string;
  /** Connects an MQTT.js client and waits for CONNACK. */
  connect(opts?: IClientOptions): Promise<MqttClient>;
  /** Opens a raw TCP socket to the broker. */
  raw(): Promise<net.Socket>;
  close(): Promise<void>;
}

export async function startBroker(options: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const broker = new Broker(options);
  await broker.open();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    broker.handle(socket, { remoteAddress: socket.remoteAddress });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const url = `mqtt://127.0.0.1:${port}`;
  const clients = new Set<MqttClient>();
  let n = 0;
  return {
    broker,
    port,
    url,
    async connect(opts: IClientOptions = {}) {
      const client = mqtt.connect(url, {
        protocolVersion: 5,
        clientId: `test-${process.pid}-${++n}`,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...opts,
      });
      clients.add(client);
      await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
        client.once("close", () => reject(new Error("closed before CONNACK")));
      });
      return client;
    },
    async raw() {
      const socket = net.connect(port, "127.0.0.1");
      sockets.add(socket);
      await once(socket, "connect");
      return socket;
    },
    async close() {
      for (const c of clients) c.end(true);
      for (const s of sockets) s.destroy();
      await broker.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Resolves with the next `count` messages a client receives. */
export function nextMessages(
  client: MqttClient,
  count: number,
  timeoutMs = 3000,
): Promise<{ topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[]> {
  return new Promise((resolve, reject) => {
    const got: { topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[] = [];
    const timer = setTimeout(() => {
      client.removeListener("message", onMessage);
      reject(new Error(`expected ${count} messages, got ${got.length}`));
    }, timeoutMs);
    function onMessage(topic: string, payload: Buffer, packet: mqtt.IPublishPacket) {
      got.push({ topic, payload, packet });
      if (got.length === count) {
        clearTimeout(timer);
        client.removeListener("message", onMessage);
        resolve(got);
      }
    }
    client.on("message", onMessage);
  });
}

/** Asserts that no message arrives within `ms`. */
export function noMessage(client: MqttClient, ms = 300): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (topic: string) => {
      clearTimeout(timer);
      reject(new Error(`unexpected message on ${topic}`));
    };
    const timer = setTimeout(() => {
      client.removeListener("message", onMessage);
      resolve();
    }, ms);
    client.on("message", onMessage);
  });
}
