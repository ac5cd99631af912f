import { isUtf8 } from "node:buffer";
import type mqtt from "mqtt-packet";
import { AckType, type Channel, type HandlerResult } from "../channel.ts";
import type { ClientInfo } from "../hooks.ts";
import { messageFromPublish } from "../message.ts";
import { ReasonCode } from "../reason-codes.ts";
import type { Session } from "../session.ts";
import { isValidTopicName } from "../topic.ts";

/**
 * PUBLISH from a client [MQTT-3.3]: resolve the topic alias, validate,
 * authorize, route, acknowledge. QoS 2 uses the spec's "method B": the message
 * is routed on PUBLISH and its packet id remembered until PUBREL, so a
 * retransmitted PUBLISH is not routed twice [MQTT-4.3.3-10].
 */
export function handlePublish(channel: Channel, packet: mqtt.IPublishPacket): HandlerResult {
  const broker = channel.broker;
  const options = broker.options;
  const v5 = channel.protocolVersion === 5;
  const qos = packet.qos;
  const session = channel.session as Session;

  if (qos > options.maximumQoS) return channel.disconnect(ReasonCode.QoSNotSupported); // [MQTT-3.3.1-4]
  if (packet.retain && !options.retainAvailable) return channel.disconnect(ReasonCode.RetainNotSupported);

  let topic = packet.topic;
  if (v5) {
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      // Alias 0 or above our maximum is an error [MQTT-3.3.2-8, MQTT-3.3.2-9].
      if (alias === 0 || alias > channel.topicAliasMaximum) {
        return channel.disconnect(ReasonCode.TopicAliasInvalid, `Topic Alias ${alias} outside 1..${channel.topicAliasMaximum}`);
      }
      const aliases = (channel.aliasesIn ??= new Map());
      if (topic.length === 0) {
        const known = aliases.get(alias);
        if (known === undefined) return channel.protocolError(`Topic Alias ${alias} is not set`);
        topic = known;
      } else {
        aliases.set(alias, topic);
      }
    }
  }
  if (!isValidTopicName(topic)) {
    // Wildcards, U+0000 or ill-formed UTF-8 in a topic name [MQTT-3.3.2-2, MQTT-4.7.3-2].
    return channel.disconnect(topic.length === 0 ? ReasonCode.ProtocolError : ReasonCode.TopicNameInvalid);
  }

  const packetId = packet.messageId ?? 0;
  if (qos === 2) {
    if (session.incomingQos2.has(packetId)) {
      // Retransmission of a PUBLISH already routed: acknowledge again only.
      channel.sendAck(AckType.Pubrec, packetId);
      return;
    }
    if (session.incomingQos2.size + channel.inboundPending >= channel.receiveMaximum) {
      return channel.disconnect(ReasonCode.ReceiveMaximumExceeded, `Receive Maximum ${channel.receiveMaximum} exceeded`); // [MQTT-3.3.4-9]
    }
  } else if (qos === 1 && channel.inboundPending >= channel.receiveMaximum) {
    return channel.disconnect(ReasonCode.ReceiveMaximumExceeded);
  }

  // A payload declared UTF-8 must be UTF-8 [MQTT-3.3.2-4]; the server may check.
  if (v5 && packet.properties?.payloadFormatIndicator && !isUtf8(payloadOf(packet))) {
    return acknowledge(channel, packet, topic, ReasonCode.PayloadFormatInvalid, false);
  }

  const client = channel.client as ClientInfo;
  const decision = broker.hooks.authorizePublish(client, topic, qos, packet.retain, payloadOf(packet).length);
  if (typeof decision === "number") return acknowledge(channel, packet, topic, decision, true);
  if (qos > 0) channel.inboundPending++;
  return decision.then(
    (code) => {
      if (qos > 0) channel.inboundPending--;
      acknowledge(channel, packet, topic, code, true);
    },
    () => {
      if (qos > 0) channel.inboundPending--;
      acknowledge(channel, packet, topic, ReasonCode.UnspecifiedError, true);
    },
  );
}

function acknowledge(channel: Channel, packet: mqtt.IPublishPacket, topic: string, code: number, route: boolean): void {
  if (channel.state === "closed") return;
  if (code === ReasonCode.MessageRateTooHigh) return channel.disconnect(code, "message rate too high");
  const broker = channel.broker;
  const client = channel.client as ClientInfo;
  const v5 = channel.protocolVersion === 5;
  let reason = code;
  if (code >= 0x80) {
    if (code === ReasonCode.NotAuthorized) broker.stats.authorizationDenials++;
  } else if (route && packet.qos > 0 && broker.store.isFull()) {
    // The store is at its size limit: refuse rather than accept what cannot be kept.
    if (!v5) return channel.disconnect(ReasonCode.QuotaExceeded);
    reason = ReasonCode.QuotaExceeded;
    broker.stats.countDrop("store-full");
  } else if (route) {
    const routed = client.mountPoint.length === 0 ? topic : client.mountPoint + topic;
    const reached = broker.publish(messageFromPublish(packet, routed, channel.sessionKey, broker.now), client);
    reason = reached === 0 ? ReasonCode.NoMatchingSubscribers : ReasonCode.Success;
  }
  const packetId = packet.messageId ?? 0;
  if (packet.qos === 0) return;
  const session = channel.session as Session;
  if (packet.qos === 2 && reason < 0x80) {
    session.incomingQos2.add(packetId);
    if (session.persisted) broker.store.saveIncoming(session.key, packetId);
  }
  // The ack promises the message and its routing to persistent sessions are stored.
  broker.holdUntilDurable(channel.connection);
  // v3 has no negative acknowledgements: the message is discarded and acked [MQTT-3.3.5-2].
  if (!v5 || reason === ReasonCode.Success) {
    channel.sendAck(packet.qos === 1 ? AckType.Puback : AckType.Pubrec, packetId);
  } else {
    channel.send({ cmd: packet.qos === 1 ? "puback" : "pubrec", messageId: packetId, reasonCode: reason });
  }
}

function payloadOf(packet: mqtt.IPublishPacket): Buffer {
  return typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
}
