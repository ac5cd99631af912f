/**
 * Pre-encoded MQTT 3.1.1 packets. Each template is produced once with
 * mqtt-packet's `generate`; the hot path only copies templates and patches
 * a few bytes (timestamp, sequence number, packet id, client id digits).
 */

import mqtt from "mqtt-packet";

/** Payload layout written by publishers and read by subscribers. */
export const PAYLOAD_TS_OFFSET = 0; // float64 LE, performance.now() in ms at send time
export const PAYLOAD_PUB_OFFSET = 8; // uint32 LE, publisher index
export const PAYLOAD_SEQ_OFFSET = 12; // uint32 LE, per-publisher sequence number
export const MIN_PAYLOAD = 16;

export const KEEPALIVE_S = 600;

export const PUBACK_LEN = 4;
export const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** MQTT packet types (upper nibble of the first byte). */
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBACK = 9;

export interface PublishTemplate {
  bytes: Buffer;
  /** Offset of the payload inside `bytes`. */
  payloadOffset: number;
  /** Offset of the 2-byte packet identifier (QoS > 0 only, else -1). */
  packetIdOffset: number;
}

export function publishTemplate(topic: string, qos: 0 | 1, payloadSize: number): PublishTemplate {
  if (payloadSize < MIN_PAYLOAD) throw new Error(`payload must be >= ${MIN_PAYLOAD} bytes`);
  const payload = Buffer.alloc(payloadSize, 0x2e); // '.'
  const bytes = mqtt.generate({
    cmd: "publish",
    topic,
    payload,
    qos,
    retain: false,
    dup: false,
    ...(qos > 0 ? { messageId: 1 } : {}),
  });
  const payloadOffset = bytes.length - payloadSize;
  return { bytes, payloadOffset, packetIdOffset: qos > 0 ? payloadOffset - 2 : -1 };
}

export interface ConnectTemplate {
  bytes: Buffer;
  /** Offset of the zero-padded decimal counter inside the client id. */
  digitsOffset: number;
  digits: number;
}

/**
 * CONNECT with client id `<prefix><counter>` where the counter is a
 * `digits`-wide zero-padded decimal patched in place by `connectPacket`.
 * Client ids stay <= 23 characters (the MQTT 3.1.1 guaranteed minimum).
 * `clean = false` asks for a persistent session (MQTT 3.1.1 Clean Session 0).
 */
export function connectTemplate(prefix: string, digits = 7, clean = true): ConnectTemplate {
  const clientId = prefix + "0".repeat(digits);
  if (clientId.length > 23) throw new Error(`client id too long: ${clientId}`);
  const bytes = mqtt.generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clean,
    clientId,
    keepalive: KEEPALIVE_S,
  });
  const idx = bytes.indexOf(Buffer.from(clientId, "latin1"));
  if (idx < 0) throw new Error("client id not found in CONNECT template");
  return { bytes, digitsOffset: idx + prefix.length, digits };
}

/** A fresh CONNECT packet for client number `n`. */
export function connectPacket(t: ConnectTemplate, n: number): Buffer {
  const out = Buffer.from(t.bytes);
  let v = n;
  for (let i = t.digits - 1; i >= 0; i--) {
    out[t.digitsOffset + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return out;
}

export function subscribePacket(topic: string, qos: 0 | 1, messageId: number): Buffer {
  return mqtt.generate({ cmd: "subscribe", messageId, subscriptions: [{ topic, qos }] });
}
