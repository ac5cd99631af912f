import type { Duplex } from "node:stream";
import mqtt from "mqtt-packet";
import type { Broker } from "./broker.ts";
import type { Channel } from "./channel.ts";

/** How long a closing connection may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

/**
 * Byte-level side of one client: parses frames from the stream with
 * mqtt-packet, enforces the maximum packet size before a frame is buffered,
 * and batches outgoing frames into one write per tick. Knows nothing about
 * MQTT semantics; those live in the Channel.
 */
export class Connection {
  readonly stream: Duplex;
  private readonly broker: Broker;
  private readonly parser: mqtt.Parser;
  private channel: Channel | undefined;
  private out: Buffer[] = [];
  private outBytes = 0;
  private queued = false;
  private closing = false;
  /** Store batch that must be durable before held frames may go out. */
  private gate = 0;
  private held: Buffer[] | undefined;
  private endWhenReleased = false;
  closed = false;
  lastActivity: number;
  /** Largest frame accepted from the client (CONNECT may lower nothing; options set it). */
  maxIncoming: number;

  constructor(broker: Broker, stream: Duplex) {
    this.broker = broker;
    this.stream = stream;
    this.maxIncoming = broker.options.maxPacketSize;
    this.lastActivity = broker.now;
    this.parser = mqtt.parser({ protocolVersion: 4 });
  }

  attach(channel: Channel): void {
    this.channel = channel;
    this.parser.on("packet", (packet: mqtt.Packet) => {
      // Nothing after a DISCONNECT, a refused CONNECT or an error is processed,
      // even when it arrived in the same read.
      if (this.closing) return;
      // A frame that arrived whole in one read is measured only here [MQTT-3.2.2-15].
      if (frameSize(packet.length ?? 0) > this.maxIncoming) return channel.onPacketTooLarge();
      channel.onPacket(packet);
    });
    this.parser.on("error", (err: Error) => channel.onParseError(err));
    this.stream.on("data", (chunk: Buffer) => this.onData(chunk));
    this.stream.on("error", () => this.destroy());
    this.stream.on("close", () => this.onClose());
    this.stream.on("end", () => this.destroy());
  }

  /** v5 packet layouts differ; the channel switches the codec after CONNECT. */
  setProtocolVersion(version: 3 | 4 | 5): void {
    (this.parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.lastActivity = this.broker.now;
    this.broker.stats.bytesReceived += chunk.length;
    this.parser.parse(chunk);
    // The codec buffers a frame until it is complete; refuse an oversized one
    // as soon as its declared length is known [MQTT-3.2.2-15].
    const pending = (this.parser as unknown as { packet: { length: number } }).packet.length;
    if (pending >= 0 && frameSize(pending) > this.maxIncoming && !this.closing) this.channel?.onPacketTooLarge();
  }

  write(frame: Buffer): void {
    if (this.closed) return;
    if (this.held) {
      this.held.push(frame);
      return;
    }
    this.out.push(frame);
    this.outBytes += frame.length;
    if (!this.queued) {
      this.queued = true;
      this.broker.markDirty(this);
    }
  }

  /** Frames written from now on wait until store batch `batch` is durable. */
  holdUntil(batch: number): void {
    if (batch > this.gate) this.gate = batch;
    this.held ??= [];
  }

  /** Lets held frames go once their batch is durable; returns true when nothing is held any more. */
  release(durableBatch: number): boolean {
    if (this.gate > durableBatch) return false;
    const held = this.held;
    this.held = undefined;
    if (held) for (const frame of held) this.write(frame);
    if (this.endWhenReleased) {
      this.endWhenReleased = false;
      this.closing = false;
      this.end();
    }
    return true;
  }

  /** The store could not make held state durable: nothing held may be sent. */
  failHeld(): void {
    this.held = undefined;
    this.destroy();
  }

  /** Bytes accepted but not yet handed to the kernel: the slow-consumer signal. */
  get backlog(): number {
    return this.outBytes + this.stream.writableLength;
  }

  flush(): void {
    this.queued = false;
    if (this.closed || this.outBytes === 0) return;
    const out = this.out;
    const frame = out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out, this.outBytes);
    this.broker.stats.bytesSent += this.outBytes;
    this.out = [];
    this.outBytes = 0;
    this.stream.write(frame);
  }

  /** Flushes what is queued (e.g. a DISCONNECT), then closes. */
  end(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    if (this.held) {
      // Held frames (acks, a DISCONNECT) go out first, once durable.
      this.endWhenReleased = true;
      const timer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      return;
    }
    this.flush();
    this.stream.end();
    const timer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
    timer.unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.closing = true;
    this.stream.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.out = [];
    this.outBytes = 0;
    this.channel?.onClose();
  }
}

/**
 * Packet Size is the whole frame: type byte, Remaining Length field and the
 * remaining bytes (sections 2.1.4, 3.2.2.3.6).
 */
function frameSize(remainingLength: number): number {
  const lengthBytes = remainingLength < 0x80 ? 1 : remainingLength < 0x4000 ? 2 : remainingLength < 0x200000 ? 3 : 4;
  return 1 + lengthBytes + remainingLength;
}
