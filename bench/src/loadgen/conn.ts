/**
 * A raw `node:net` MQTT 3.1.1 connection: CONNECT/CONNACK and SUBSCRIBE/
 * SUBACK handshakes are awaited with promises, everything else is dispatched
 * synchronously to a handler straight from the frame reader.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import { CONNACK, DISCONNECT, PUBACK, PUBLISH, SUBACK, subscribePacket } from "./packets.ts";
import { FrameReader, type FrameSink } from "./reader.ts";

export interface ConnHandler {
  onPublish?(conn: MqttConn, b0: number, buf: Buffer, body: number, end: number): void;
  onPuback?(conn: MqttConn, packetId: number): void;
  onClose?(conn: MqttConn): void;
}

const NO_HANDLER: ConnHandler = {};

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class MqttConn implements FrameSink {
  readonly socket: net.Socket;
  /** performance.now() taken when the chunk being parsed arrived. */
  rxTime = 0;
  /** Set once CONNACK was received; `onClose` fires only after that. */
  established = false;
  /** CONNACK's Session Present flag [MQTT-3.2.2-2]. */
  sessionPresent = false;
  closed = false;
  /** Arbitrary per-connection index for the owner. */
  index = 0;

  private readonly reader = new FrameReader(this);
  private connackWaiter: Waiter | null = null;
  private readonly subackWaiters = new Map<number, Waiter>();
  private nextSubId = 1;
  private ackBuf: Buffer = Buffer.allocUnsafe(4 * 256);
  private ackLen = 0;

  constructor(
    socket: net.Socket,
    private handler: ConnHandler = NO_HANDLER,
  ) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.rxTime = performance.now();
      try {
        this.reader.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
        return;
      }
      if (this.ackLen > 0) this.flushAcks();
    });
    socket.on("error", () => {
      /* 'close' follows */
    });
    socket.on("close", () => {
      this.closed = true;
      const err = new Error("connection closed by broker");
      this.connackWaiter?.reject(err);
      this.connackWaiter = null;
      for (const w of this.subackWaiters.values()) w.reject(err);
      this.subackWaiters.clear();
      if (this.established) this.handler.onClose?.(this);
    });
  }

  setHandler(handler: ConnHandler): void {
    this.handler = handler;
  }

  onFrame(b0: number, buf: Buffer, body: number, end: number): void {
    const type = b0 >> 4;
    if (type === PUBLISH) {
      this.handler.onPublish?.(this, b0, buf, body, end);
    } else if (type === PUBACK) {
      this.handler.onPuback?.(this, buf.readUInt16BE(body));
    } else if (type === CONNACK) {
      const rc = buf[body + 1];
      const w = this.connackWaiter;
      this.connackWaiter = null;
      if (rc === 0) {
        this.established = true;
        this.sessionPresent = (buf[body]! & 1) === 1;
        w?.resolve();
      } else {
        w?.reject(new Error(`CONNACK refused, return code ${rc}`));
        this.socket.destroy();
      }
    } else if (type === SUBACK) {
      const id = buf.readUInt16BE(body);
      const w = this.subackWaiters.get(id);
      this.subackWaiters.delete(id);
      for (let i = body + 2; i < end; i++) {
        if (buf[i]! >= 0x80) {
          w?.reject(new Error("SUBSCRIBE rejected by broker"));
          return;
        }
      }
      w?.resolve();
    }
    // PINGRESP etc. are ignored.
  }

  /** Queue a PUBACK; all queued acks are written with one write per received chunk. */
  queuePuback(packetId: number): void {
    if (this.ackLen + 4 > this.ackBuf.length) {
      const bigger = Buffer.allocUnsafe(this.ackBuf.length * 2);
      this.ackBuf.copy(bigger, 0, 0, this.ackLen);
      this.ackBuf = bigger;
    }
    const b = this.ackBuf;
    const o = this.ackLen;
    b[o] = 0x40;
    b[o + 1] = 0x02;
    b[o + 2] = packetId >> 8;
    b[o + 3] = packetId & 0xff;
    this.ackLen = o + 4;
  }

  private flushAcks(): void {
    // Copy: the socket may hold on to the buffer until it is flushed.
    this.socket.write(Buffer.from(this.ackBuf.subarray(0, this.ackLen)));
    this.ackLen = 0;
  }

  subscribe(topic: string, qos: 0 | 1): Promise<void> {
    const id = this.nextSubId++;
    return new Promise<void>((resolve, reject) => {
      this.subackWaiters.set(id, { resolve, reject });
      this.socket.write(subscribePacket(topic, qos, id));
    });
  }

  /** Resolves when CONNACK (accepted) arrives. */
  awaitConnack(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connackWaiter = null;
        this.socket.destroy();
        reject(new Error(`no CONNACK within ${timeoutMs} ms`));
      }, timeoutMs);
      this.connackWaiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Send DISCONNECT and resolve once the broker closed the connection (or after `timeoutMs`). */
  disconnect(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end(DISCONNECT);
    });
  }
}

/** Open a TCP connection, send the pre-encoded CONNECT, resolve on CONNACK. */
export async function openConn(
  host: string,
  port: number,
  connectPkt: Buffer,
  handler?: ConnHandler,
  timeoutMs = 15_000,
): Promise<MqttConn> {
  const socket = net.connect({ host, port, noDelay: true });
  const conn = new MqttConn(socket, handler);
  const connack = conn.awaitConnack(timeoutMs);
  socket.once("connect", () => socket.write(connectPkt));
  await connack;
  return conn;
}

/** Run `fn` over 0..n-1 with at most `limit` promises pending at once. */
export async function forEachLimit(
  n: number,
  limit: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let firstError: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < n && firstError === null) {
      const i = next++;
      try {
        await fn(i);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  if (firstError !== null) throw firstError;
}
