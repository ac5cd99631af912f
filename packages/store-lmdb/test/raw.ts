import { once } from "node:events";
import net from "node:net";
import mqttPacket from "mqtt-packet";

export type Packet = mqttPacket.Packet;
export type PacketOf<C extends Packet["cmd"]> = Extract<Packet, { cmd: C }>;

/**
 * A minimal byte-level MQTT client: sends exactly the packets a test builds
 * and queues every packet the broker sends, so a test can stop a QoS 2 flow
 * half-way (which MQTT.js completes on its own).
 */
export class RawClient {
  private readonly inbox: Packet[] = [];
  private readonly waiters: ((p: Packet | undefined) => void)[] = [];
  private readonly parser: mqttPacket.Parser;
  closed = false;

  private constructor(
    readonly socket: net.Socket,
    readonly protocolVersion: 4 | 5,
  ) {
    this.parser = mqttPacket.parser({ protocolVersion });
    this.parser.on("packet", (p: Packet) => {
      const w = this.waiters.shift();
      if (w) w(p);
      else this.inbox.push(p);
    });
    socket.on("data", (chunk: Buffer) => this.parser.parse(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
  }

  static async open(port: number, protocolVersion: 4 | 5): Promise<RawClient> {
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    return new RawClient(socket, protocolVersion);
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** The next packet, which must be of type `cmd`. */
  async next<C extends Packet["cmd"]>(cmd: C, timeoutMs = 3000): Promise<PacketOf<C>> {
    const queued = this.inbox.shift();
    const packet =
      queued ??
      (await new Promise<Packet | undefined>((resolve, reject) => {
        if (this.closed) return resolve(undefined);
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(done);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error(`no ${cmd} within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (p: Packet | undefined) => {
          clearTimeout(timer);
          resolve(p);
        };
        this.waiters.push(done);
      }));
    if (!packet) throw new Error(`connection closed while waiting for ${cmd}`);
    if (packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${packet.cmd} ${JSON.stringify(packet)}`);
    return packet as PacketOf<C>;
  }

  /** Resolves if nothing arrives within `ms`. */
  async nothing(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const extra = this.inbox[0];
    if (extra) throw new Error(`unexpected ${extra.cmd} ${JSON.stringify(extra)}`);
  }

  async connect(fields: Partial<PacketOf<"connect">>): Promise<PacketOf<"connack">> {
    this.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: this.protocolVersion,
      clientId: "",
      clean: true,
      keepalive: 0,
      ...fields,
    });
    return this.next("connack");
  }

  async subscribe(topic: string, qos: 0 | 1 | 2, messageId = 1): Promise<PacketOf<"suback">> {
    this.send({ cmd: "subscribe", messageId, subscriptions: [{ topic, qos }] });
    return this.next("suback");
  }

  destroy(): void {
    this.socket.destroy();
  }
}
