import type mqtt from "mqtt-packet";
import { AckType, type Channel } from "../channel.ts";
import { ReasonCode } from "../reason-codes.ts";
import type { Session } from "../session.ts";

/**
 * Acknowledgement flows [MQTT-4.3]. Outgoing QoS 1: PUBLISH -> PUBACK.
 * Outgoing QoS 2: PUBLISH -> PUBREC, PUBREL -> PUBCOMP. Incoming QoS 2:
 * PUBREL -> PUBCOMP releases the packet id. Each completed flow frees a slot
 * in the in-flight window, which pulls the next queued message.
 */

export function handlePuback(channel: Channel, packet: mqtt.IPubackPacket): void {
  const session = channel.session as Session;
  const id = packet.messageId ?? 0;
  const inflight = session.inflight.get(id);
  if (!inflight || inflight.delivery.qos !== 1) return;
  channel.broker.completeInflight(session, id);
}

export function handlePubrec(channel: Channel, packet: mqtt.IPubrecPacket): void {
  const session = channel.session as Session;
  const id = packet.messageId ?? 0;
  const inflight = session.inflight.get(id);
  if (!inflight || inflight.delivery.qos !== 2) {
    if (channel.protocolVersion === 5) {
      channel.send({ cmd: "pubrel", messageId: id, reasonCode: ReasonCode.PacketIdentifierNotFound });
    }
    return;
  }
  // A PUBREC with an error code ends the flow; the packet id is free again [MQTT-4.3.3-4].
  if ((packet.reasonCode ?? 0) >= 0x80) {
    channel.broker.completeInflight(session, id);
    return;
  }
  channel.broker.releaseInflight(session, inflight);
  channel.writePubrel(id);
}

export function handlePubcomp(channel: Channel, packet: mqtt.IPubcompPacket): void {
  const session = channel.session as Session;
  const id = packet.messageId ?? 0;
  const inflight = session.inflight.get(id);
  if (!inflight || !inflight.released) return;
  channel.broker.completeInflight(session, id);
}

export function handlePubrel(channel: Channel, packet: mqtt.IPubrelPacket): void {
  const session = channel.session as Session;
  const id = packet.messageId ?? 0;
  const known = session.incomingQos2.delete(id);
  if (known && session.persisted) {
    channel.broker.store.deleteIncoming(session.key, id);
    // After PUBCOMP the client may reuse the id for a new message, which we
    // must then route [MQTT-4.3.3-12]: the id must be forgotten durably first,
    // or a restart would take that message for a retransmission and drop it.
    channel.broker.holdUntilDurable(channel.connection);
  }
  // [MQTT-4.3.3-11]
  if (known || channel.protocolVersion !== 5) channel.sendAck(AckType.Pubcomp, id);
  else channel.send({ cmd: "pubcomp", messageId: id, reasonCode: ReasonCode.PacketIdentifierNotFound });
}
