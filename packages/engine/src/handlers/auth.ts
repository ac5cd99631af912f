import type mqtt from "mqtt-packet";
import type { Channel } from "../channel.ts";

/**
 * AUTH [MQTT-3.15]. Enhanced authentication is refused at CONNECT (no
 * methods configured), so any AUTH afterwards is a protocol error [MQTT-4.12.0-1].
 */
export function handleAuth(channel: Channel, _packet: mqtt.IAuthPacket): void {
  channel.protocolError();
}
