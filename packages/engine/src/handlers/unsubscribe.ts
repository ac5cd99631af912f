import type mqtt from "mqtt-packet";
import type { Channel } from "../channel.ts";
import type { ClientInfo } from "../hooks.ts";
import { ReasonCode } from "../reason-codes.ts";
import type { Session } from "../session.ts";
import { parseSharedFilter } from "../topic.ts";

/** UNSUBSCRIBE [MQTT-3.10]: remove each filter; UNSUBACK even if none existed [MQTT-3.10.4-5]. */
export function handleUnsubscribe(channel: Channel, packet: mqtt.IUnsubscribePacket): void {
  const broker = channel.broker;
  const session = channel.session as Session;
  const mount = (channel.client as ClientInfo).mountPoint;
  // Ill-formed UTF-8 (decoded as U+FFFD, see topic.ts) makes the packet malformed [MQTT-1.5.4-1].
  if (packet.unsubscriptions.some((f) => f.includes("\ufffd"))) {
    return channel.disconnect(ReasonCode.MalformedPacket, "Topic Filter is not valid UTF-8");
  }
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const shared = parseSharedFilter(filter);
    if (shared === "invalid") {
      codes.push(ReasonCode.TopicFilterInvalid);
      continue;
    }
    const id = shared ? `$share/${shared.group}/${mount}${shared.filter}` : mount + filter;
    codes.push(broker.unsubscribe(session, id) ? ReasonCode.Success : ReasonCode.NoSubscriptionExisted);
  }
  // v3 UNSUBACK has no payload; the codec only writes codes for v5.
  broker.holdUntilDurable(channel.connection);
  channel.send({ cmd: "unsuback", messageId: packet.messageId ?? 0, granted: codes });
}
