import type mqtt from "mqtt-packet";
import type { Channel } from "../channel.ts";
import { ReasonCode } from "../reason-codes.ts";
import type { Session } from "../session.ts";

/**
 * DISCONNECT from the client [MQTT-3.14]. Reason 0x00 discards the will
 * [MQTT-3.14.4-3]; 0x04 keeps it. A v5 client may change the session expiry,
 * but not from zero to non-zero [MQTT-3.14.2-2].
 */
export function handleDisconnect(channel: Channel, packet: mqtt.IDisconnectPacket): void {
  const session = channel.session as Session;
  if (channel.protocolVersion === 5) {
    const expiry = packet.properties?.sessionExpiryInterval;
    if (expiry !== undefined) {
      if (channel.connectSessionExpiry === 0 && expiry !== 0) return channel.protocolError();
      session.expiryInterval = Math.min(expiry, channel.broker.options.maxSessionExpiryInterval);
    }
    if (packet.reasonCode !== ReasonCode.DisconnectWithWill) channel.discardWill();
  } else {
    channel.discardWill();
  }
  channel.connection.end();
}
