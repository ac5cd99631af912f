import type mqtt from "mqtt-packet";
import { ReasonCode } from "./reason-codes.ts";

/**
 * Checks the v5 property values the codec hands over. mqtt-packet reads a
 * property whose value runs past the end of the packet as null (or -1) without
 * reporting an error, and a repeated property as an array. Either would later
 * make the encoder throw while forwarding the message (or its will), far from
 * the client that sent it, so they are refused on arrival.
 */

type Kind = "byte" | "int" | "var" | "string" | "binary";

/** Property value types (MQTT 5.0 section 2.2.2.2); User Property is checked apart. */
const KINDS: Record<string, Kind> = {
  payloadFormatIndicator: "byte",
  messageExpiryInterval: "int",
  contentType: "string",
  responseTopic: "string",
  correlationData: "binary",
  subscriptionIdentifier: "var",
  sessionExpiryInterval: "int",
  assignedClientIdentifier: "string",
  serverKeepAlive: "int",
  authenticationMethod: "string",
  authenticationData: "binary",
  requestProblemInformation: "byte",
  willDelayInterval: "int",
  requestResponseInformation: "byte",
  responseInformation: "string",
  serverReference: "string",
  reasonString: "string",
  receiveMaximum: "int",
  topicAliasMaximum: "int",
  topicAlias: "int",
  maximumQoS: "int",
  retainAvailable: "byte",
  maximumPacketSize: "int",
  wildcardSubscriptionAvailable: "byte",
  subscriptionIdentifiersAvailable: "byte",
  sharedSubscriptionAvailable: "byte",
};

/**
 * Returns 0 if the packet's properties (and its will's) are well formed,
 * Malformed Packet for an unreadable value, or Protocol Error for a property
 * other than User Property given more than once (section 2.2.2.2). A repeated
 * Subscription Identifier is left to the SUBSCRIBE handler.
 */
export function checkProperties(packet: mqtt.Packet): number {
  const own = (packet as { properties?: Record<string, unknown> }).properties;
  const code = own === undefined ? 0 : checkBlock(own);
  if (code !== 0 || packet.cmd !== "connect") return code;
  const will = packet.will?.properties as Record<string, unknown> | undefined;
  return will === undefined ? 0 : checkBlock(will);
}

function checkBlock(props: Record<string, unknown>): number {
  for (const name in props) {
    const value = props[name];
    if (name === "userProperties") {
      if (!userPropertiesOk(value)) return ReasonCode.MalformedPacket;
      continue;
    }
    const kind = KINDS[name];
    if (kind === undefined) return ReasonCode.MalformedPacket;
    if (Array.isArray(value)) {
      if (name !== "subscriptionIdentifier") return ReasonCode.ProtocolError;
      if (!value.every((v) => valueOk(kind, v))) return ReasonCode.MalformedPacket;
      continue;
    }
    if (!valueOk(kind, value)) return ReasonCode.MalformedPacket;
  }
  return 0;
}

function valueOk(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case "byte":
      return typeof value === "boolean";
    case "int":
    case "var":
      return typeof value === "number" && value >= 0;
    case "string":
      return typeof value === "string";
    case "binary":
      return Buffer.isBuffer(value);
  }
}

function userPropertiesOk(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  for (const name in value) {
    const v = (value as Record<string, unknown>)[name];
    if (typeof v === "string") continue;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) return false;
  }
  return true;
}
