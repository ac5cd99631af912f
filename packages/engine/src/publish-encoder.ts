import mqtt from "mqtt-packet";
import type { Message, MessageProperties } from "./message.ts";
import { remainingExpiry } from "./message.ts";

/**
 * Encodes outgoing PUBLISH packets.
 *
 * Fan-out makes this the broker's hottest path: one message may go to
 * thousands of subscribers, and most of them receive identical bytes except
 * for the packet identifier and DUP bit. So the frame for each variant
 * (protocol family, QoS, RETAIN flag, mount point) is generated once with
 * mqtt-packet and cached on the Message; each subscriber then gets either the
 * cached buffer itself (QoS 0) or a copy with its packet id written in place.
 * Only deliveries that really differ per subscriber (subscription identifiers,
 * topic aliases, remaining message expiry) are generated individually.
 */

export interface EncodeTarget {
  protocolVersion: 3 | 4 | 5;
  /** Prefix removed from the topic before sending (the client's namespace). */
  mountPoint: string;
}

export interface EncodeVariant {
  qos: 0 | 1 | 2;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  /** Outgoing topic alias, and whether the topic name is omitted (alias already known). */
  topicAlias: number | undefined;
  aliasOnly: boolean;
}

const DUP_BIT = 0x08;

export function encodePublish(
  message: Message,
  target: EncodeTarget,
  variant: EncodeVariant,
  packetId: number,
  dup: boolean,
  now: number,
): Buffer {
  const v5 = target.protocolVersion === 5;
  const perSubscriber =
    v5 && (variant.subscriptionIds !== undefined || variant.topicAlias !== undefined || message.expiresAt !== undefined);
  if (perSubscriber) return generate(message, target, variant, packetId, dup, now);

  const key = (target.mountPoint.length << 4) | (v5 ? 8 : 0) | (variant.retain ? 4 : 0) | variant.qos;
  let frame = message.encodedKey === key ? message.encodedFrame : message.encoded?.get(key);
  if (!frame) {
    frame = generate(message, target, variant, variant.qos > 0 ? 1 : 0, false, now);
    if (message.encodedKey === undefined) {
      message.encodedKey = key;
      message.encodedFrame = frame;
    } else {
      (message.encoded ??= new Map()).set(key, frame);
    }
  }
  if (variant.qos === 0) return frame;

  const out = Buffer.allocUnsafe(frame.length);
  frame.copy(out);
  if (dup) out[0] = (out[0] as number) | DUP_BIT;
  out.writeUInt16BE(packetId, packetIdOffset(out));
  return out;
}

/** Offset of the packet identifier: fixed header, then the 2-byte-prefixed topic [MQTT-3.3.2]. */
function packetIdOffset(frame: Buffer): number {
  let pos = 1;
  while (((frame[pos] as number) & 0x80) !== 0) pos++;
  pos++;
  const topicLength = frame.readUInt16BE(pos);
  return pos + 2 + topicLength;
}

function generate(
  message: Message,
  target: EncodeTarget,
  variant: EncodeVariant,
  packetId: number,
  dup: boolean,
  now: number,
): Buffer {
  const topic = variant.aliasOnly ? "" : unmount(message.topic, target.mountPoint);
  const packet: mqtt.IPublishPacket = {
    cmd: "publish",
    topic,
    payload: message.payload,
    qos: variant.qos,
    retain: variant.retain,
    dup,
  };
  if (variant.qos > 0) packet.messageId = packetId;
  if (target.protocolVersion === 5) {
    const props = outgoingProperties(message.properties, message, variant, now);
    if (props) packet.properties = props;
  }
  return mqtt.generate(packet, { protocolVersion: target.protocolVersion });
}

function outgoingProperties(
  source: MessageProperties | undefined,
  message: Message,
  variant: EncodeVariant,
  now: number,
): mqtt.IPublishPacket["properties"] | undefined {
  if (!source && variant.subscriptionIds === undefined && variant.topicAlias === undefined) return undefined;
  const props: NonNullable<mqtt.IPublishPacket["properties"]> = {};
  if (source) {
    if (source.payloadFormatIndicator !== undefined) props.payloadFormatIndicator = source.payloadFormatIndicator;
    if (source.contentType !== undefined) props.contentType = source.contentType;
    if (source.responseTopic !== undefined) props.responseTopic = source.responseTopic;
    if (source.correlationData !== undefined) props.correlationData = source.correlationData;
    if (source.userProperties !== undefined) props.userProperties = source.userProperties;
  }
  const expiry = remainingExpiry(message, now);
  if (expiry !== undefined) props.messageExpiryInterval = expiry;
  if (variant.subscriptionIds !== undefined) {
    props.subscriptionIdentifier =
      variant.subscriptionIds.length === 1 ? (variant.subscriptionIds[0] as number) : variant.subscriptionIds;
  }
  if (variant.topicAlias !== undefined) props.topicAlias = variant.topicAlias;
  return props;
}

export function unmount(topic: string, mountPoint: string): string {
  return mountPoint.length === 0 ? topic : topic.slice(mountPoint.length);
}
