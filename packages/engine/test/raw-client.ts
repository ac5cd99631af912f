import net from "node:net";
import mqttPacket from "mqtt-packet";

export type Packet = mqttPacket.Packet;
export type PacketCmd = Packet["cmd"];
export type PacketOf<C extends PacketCmd> = Extract<Packet, { cmd: C }>;

/** Anything that can open a TCP socket to the broker under test (the harness's TestBroker). */
export interface RawOpener {
  raw(): Promise<net.Socket>;
}

interface Waiter {
  cmd: PacketCmd | undefined;
  resolve: (packet: Packet) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A byte-level MQTT client for conformance tests: packets are encoded with
 * mqtt-packet's `generate` (or written as raw bytes) and every packet the
 * broker sends is parsed and queued in arrival order, so tests can assert on
 * exact packets, flags and timing without a client library in between.
 */
export class RawClient {
  readonly socket: net.Socket;
  /** Codec version for packets we send and parse (3 and 4 share a layout). */
  protocolVersion: 3 | 4 | 5;
  /** Every packet received, in order (also those already consumed by nextPacket). */
  readonly received: Packet[] = [];
  /** Set when the broker sent bytes mqtt-packet could not parse. */
  parseError: Error | undefined;
  isClosed = false;
  private readonly inbox: Packet[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly closeWaiters: (() => void)[] = [];
  private readonly parser: mqttPacket.Parser;
  private lastId = 1;

  constructor(socket: net.Socket, protocolVersion: 3 | 4 | 5 = 4) {
    this.socket = socket;
    this.protocolVersion = protocolVersion;
    this.parser = mqttPacket.parser({ protocolVersion: protocolVersion === 5 ? 5 : 4 });
    this.parser.on("packet", (packet: Packet) => this.onPacket(packet));
    this.parser.on("error", (err: Error) => {
      this.parseError = err;
    });
    socket.on("data", (chunk: Buffer) => this.parser.parse(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => this.onClose());
    if (socket.destroyed) this.onClose();
  }

  private onPacket(packet: Packet): void {
    this.received.push(packet);
    const waiter = this.waiters.shift();
    if (!waiter) {
      this.inbox.push(packet);
      return;
    }
    clearTimeout(waiter.timer);
    // Strict order: a packet of another type than awaited fails the wait.
    if (waiter.cmd === undefined || waiter.cmd === packet.cmd) waiter.resolve(packet);
    else waiter.reject(new Error(`expected ${waiter.cmd}, got ${describe(packet)}`));
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`connection closed while waiting for ${w.cmd ?? "a packet"}`));
    }
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }

  /** Encodes and sends a packet with this client's protocol version. */
  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Sends bytes as they are (malformed or hand-built packets). */
  write(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /**
   * The next packet from the broker, in arrival order. With `cmd`, rejects if
   * the next packet is of another type (no packets are skipped).
   */
  nextPacket<C extends PacketCmd>(cmd?: C, timeoutMs = 3000): Promise<PacketOf<C>> {
    const queued = this.inbox.shift();
    if (queued) {
      if (cmd !== undefined && queued.cmd !== cmd) {
        return Promise.reject(new Error(`expected ${cmd}, got ${describe(queued)}`));
      }
      return Promise.resolve(queued as PacketOf<C>);
    }
    if (this.isClosed) return Promise.reject(new Error(`connection closed while waiting for ${cmd ?? "a packet"}`));
    return new Promise<PacketOf<C>>((resolve, reject) => {
      const waiter: Waiter = {
        cmd,
        resolve: resolve as (packet: Packet) => void,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error(`no ${cmd ?? "packet"} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** The next `count` packets (all of type `cmd` if given). */
  async nextPackets<C extends PacketCmd>(count: number, cmd?: C, timeoutMs = 3000): Promise<PacketOf<C>[]> {
    const out: PacketOf<C>[] = [];
    for (let i = 0; i < count; i++) out.push(await this.nextPacket(cmd, timeoutMs));
    return out;
  }

  /** Resolves if no packet arrives within `ms`; rejects with the packet otherwise. */
  async noPacket(ms = 300): Promise<void> {
    const queued = this.inbox[0];
    if (queued) throw new Error(`unexpected ${describe(queued)}`);
    const before = this.received.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    const extra = this.received[before];
    if (extra) throw new Error(`unexpected ${describe(extra)}`);
  }

  /** Resolves when the broker closes the connection; rejects after `timeoutMs`. */
  closed(timeoutMs = 3000): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Sends CONNECT (protocol version from this client unless given) and
   * returns the CONNACK.
   */
  async connect(packet: Partial<PacketOf<"connect">> = {}, timeoutMs = 3000): Promise<PacketOf<"connack">> {
    const protocolVersion = packet.protocolVersion ?? this.protocolVersion;
    this.send({
      cmd: "connect",
      protocolId: protocolVersion === 3 ? "MQIsdp" : "MQTT",
      protocolVersion,
      clientId: "",
      clean: true,
      keepalive: 0,
      ...packet,
    });
    return this.nextPacket("connack", timeoutMs);
  }

  /** A packet identifier not yet used by this client (1..65535, wrapping). */
  nextId(): number {
    const id = this.lastId;
    this.lastId = id === 0xffff ? 1 : id + 1;
    return id;
  }

  /**
   * Sends SUBSCRIBE and returns the SUBACK (whose packet id must match).
   * `subscriptions` may be a filter, granted at `qos`.
   */
  async subscribe(
    subscriptions: string | PacketOf<"subscribe">["subscriptions"],
    qos: 0 | 1 | 2 = 0,
    properties?: PacketOf<"subscribe">["properties"],
  ): Promise<PacketOf<"suback">> {
    const messageId = this.nextId();
    const subs = typeof subscriptions === "string" ? [{ topic: subscriptions, qos }] : subscriptions;
    const packet: PacketOf<"subscribe"> = { cmd: "subscribe", messageId, subscriptions: subs };
    if (properties) packet.properties = properties;
    this.send(packet);
    const suback = await this.nextPacket("suback");
    if (suback.messageId !== messageId) throw new Error(`SUBACK for ${suback.messageId}, expected ${messageId}`);
    return suback;
  }

  /** Sends UNSUBSCRIBE and returns the UNSUBACK (whose packet id must match). */
  async unsubscribe(filters: string | string[]): Promise<PacketOf<"unsuback">> {
    const messageId = this.nextId();
    this.send({ cmd: "unsubscribe", messageId, unsubscriptions: typeof filters === "string" ? [filters] : filters });
    const unsuback = await this.nextPacket("unsuback");
    if (unsuback.messageId !== messageId) throw new Error(`UNSUBACK for ${unsuback.messageId}, expected ${messageId}`);
    return unsuback;
  }

  /**
   * Publishes and completes the QoS flow: QoS 1 waits for PUBACK, QoS 2 for
   * PUBREC, sends PUBREL and waits for PUBCOMP (unless PUBREC carries a
   * failure code). Returns the acknowledgements received, in order.
   */
  async publish(
    topic: string,
    payload: string | Buffer,
    opts: { qos?: 0 | 1 | 2; retain?: boolean; dup?: boolean; messageId?: number; properties?: PacketOf<"publish">["properties"] } = {},
  ): Promise<Packet[]> {
    const qos = opts.qos ?? 0;
    const packet: PacketOf<"publish"> = {
      cmd: "publish",
      topic,
      payload: typeof payload === "string" ? Buffer.from(payload) : payload,
      qos,
      retain: opts.retain ?? false,
      dup: opts.dup ?? false,
    };
    if (qos > 0) packet.messageId = opts.messageId ?? this.nextId();
    if (opts.properties) packet.properties = opts.properties;
    this.send(packet);
    if (qos === 0) return [];
    const id = packet.messageId;
    if (qos === 1) {
      const puback = await this.nextPacket("puback");
      if (puback.messageId !== id) throw new Error(`PUBACK for ${puback.messageId}, expected ${id}`);
      return [puback];
    }
    const pubrec = await this.nextPacket("pubrec");
    if (pubrec.messageId !== id) throw new Error(`PUBREC for ${pubrec.messageId}, expected ${id}`);
    if ((pubrec.reasonCode ?? 0) >= 0x80) return [pubrec];
    this.send({ cmd: "pubrel", messageId: id });
    const pubcomp = await this.nextPacket("pubcomp");
    if (pubcomp.messageId !== id) throw new Error(`PUBCOMP for ${pubcomp.messageId}, expected ${id}`);
    return [pubrec, pubcomp];
  }

  /**
   * Acknowledges a received PUBLISH: PUBACK for QoS 1; for QoS 2 PUBREC, then
   * waits for the PUBREL and answers PUBCOMP.
   */
  async ack(publish: PacketOf<"publish">): Promise<void> {
    const messageId = publish.messageId;
    if (publish.qos === 0 || messageId === undefined) return;
    if (publish.qos === 1) {
      this.send({ cmd: "puback", messageId });
      return;
    }
    this.send({ cmd: "pubrec", messageId });
    const pubrel = await this.nextPacket("pubrel");
    if (pubrel.messageId !== messageId) throw new Error(`PUBREL for ${pubrel.messageId}, expected ${messageId}`);
    this.send({ cmd: "pubcomp", messageId });
  }

  /** Half-closes the socket (FIN), like a client that goes away politely. */
  end(): void {
    this.socket.end();
  }

  /** Drops the connection without DISCONNECT (abrupt network loss). */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Opens a RawClient through the harness, so the socket is cleaned up with the broker. */
export async function openRaw(opener: RawOpener, protocolVersion: 3 | 4 | 5 = 4): Promise<RawClient> {
  return new RawClient(await opener.raw(), protocolVersion);
}

/**
 * Opens a RawClient and completes CONNECT/CONNACK; rejects unless the CONNACK
 * accepts the connection.
 */
export async function connectRaw(
  opener: RawOpener,
  protocolVersion: 3 | 4 | 5,
  packet: Partial<PacketOf<"connect">> = {},
): Promise<RawClient> {
  const client = await openRaw(opener, protocolVersion);
  const connack = await client.connect(packet);
  const code = protocolVersion === 5 ? connack.reasonCode : connack.returnCode;
  if (code !== 0) throw new Error(`CONNECT refused: ${code}`);
  return client;
}

function describe(packet: Packet): string {
  const extra =
    packet.cmd === "publish"
      ? ` ${packet.topic} qos=${packet.qos} id=${packet.messageId ?? "-"}`
      : packet.messageId !== undefined
        ? ` id=${packet.messageId}`
        : "";
  return `${packet.cmd}${extra}`;
}

// ---- hand-built frames (for packets the codec refuses to generate) ----------

/** A Variable Byte Integer (MQTT 5.0 §1.5.5), e.g. a Remaining Length or a properties length. */
export function varint(value: number): Buffer {
  const out: number[] = [];
  let n = value;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A length-prefixed UTF-8 string (§1.5.4); a Buffer is taken as the raw (possibly ill-formed) bytes. */
export function mqttString(value: string | Buffer): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** A control packet: first byte (type and flags), computed Remaining Length, then the parts. */
export function frame(firstByte: number, ...parts: (Buffer | number[])[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
  return Buffer.concat([Buffer.from([firstByte]), varint(body.length), body]);
}
