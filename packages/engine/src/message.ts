import type { IPublishPacket } from "mqtt-packet";

export type QoS = 0 | 1 | 2;

/** Application-message properties forwarded unaltered to subscribers [MQTT-3.3.2-4..20]. */
export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

/**
 * An application message as the broker routes it. Immutable once published:
 * every subscriber shares the same object, and per-subscriber differences
 * (QoS, packet id, retain flag, subscription ids, alias) are applied when the
 * outgoing PUBLISH is encoded.
 */
export interface Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: MessageProperties | undefined;
  /** Absolute expiry in ms since epoch, from messageExpiryInterval [MQTT-3.3.2-5]. */
  readonly expiresAt: number | undefined;
  /** Client id of the publisher, for No Local [MQTT-3.8.3-3]; undefined for wills/system. */
  readonly senderId: string | undefined;
  /**
   * Encoded PUBLISH frames by variant, filled lazily by the encoder. The first
   * variant sits in plain fields: most messages reach subscribers of one
   * variant, and a Map per message would cost an allocation in 1-to-1 traffic.
   */
  encodedKey?: number;
  encodedFrame?: Buffer;
  encoded?: Map<number, Buffer>;
}

/** Builds the routed message; `topic` is the routed (mounted, alias-resolved) name. */
export function messageFromPublish(
  packet: IPublishPacket,
  topic: string,
  senderId: string | undefined,
  now: number,
): Message {
  const props = packet.properties;
  let properties: MessageProperties | undefined;
  let expiresAt: number | undefined;
  if (props) {
    properties = {};
    if (props.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = props.payloadFormatIndicator;
    if (props.messageExpiryInterval !== undefined) {
      properties.messageExpiryInterval = props.messageExpiryInterval;
      expiresAt = now + props.messageExpiryInterval * 1000;
    }
    if (props.contentType !== undefined) properties.contentType = props.contentType;
    if (props.responseTopic !== undefined) properties.responseTopic = props.responseTopic;
    if (props.correlationData !== undefined) properties.correlationData = props.correlationData;
    if (props.userProperties !== undefined) properties.userProperties = props.userProperties;
  }
  const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
  return {
    topic,
    payload,
    qos: packet.qos,
    retain: packet.retain,
    properties,
    expiresAt,
    senderId,
  };
}

export function isExpired(message: Message, now: number): boolean {
  return message.expiresAt !== undefined && message.expiresAt <= now;
}

/** Seconds left of the message's lifetime, sent instead of the original [MQTT-3.3.2-6]. */
export function remainingExpiry(message: Message, now: number): number | undefined {
  if (message.expiresAt === undefined) return undefined;
  return Math.max(0, Math.ceil((message.expiresAt - now) / 1000));
}
