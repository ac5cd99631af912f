import { randomUUID } from "node:crypto";
import type mqtt from "mqtt-packet";
import type { Channel, HandlerResult } from "../channel.ts";
import type { AuthenticateResult, ClientInfo } from "../hooks.ts";
import type { Message, MessageProperties, QoS } from "../message.ts";
import { ReasonCode, toV3ConnackCode } from "../reason-codes.ts";
import { Session } from "../session.ts";
import { isValidTopicName } from "../topic.ts";


/**
 * CONNECT [MQTT-3.1]: validate, authenticate (possibly asynchronously), take
 * over or resume the session, answer CONNACK, then resend what was in flight.
 */
export function handleConnect(channel: Channel, packet: mqtt.IConnectPacket): HandlerResult {
  const broker = channel.broker;
  const options = broker.options;
  const version = (packet.protocolVersion ?? 4) as 3 | 4 | 5;
  channel.protocolVersion = version;
  channel.connection.setProtocolVersion(version);
  channel.state = "connecting";

  // Protocol name and level must agree: MQIsdp/3 or MQTT/4|5 [MQTT-3.1.2-1].
  const name = packet.protocolId;
  if ((version === 3 && name !== "MQIsdp") || (version !== 3 && name !== "MQTT")) {
    return reject(channel, ReasonCode.UnsupportedProtocolVersion);
  }

  const props = packet.properties ?? {};
  if (version === 5) {
    // Zero is not a valid Receive Maximum or Maximum Packet Size (sections 3.1.2.11.3, 3.1.2.11.4).
    if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) {
      return reject(channel, ReasonCode.ProtocolError);
    }
    if (props.authenticationMethod !== undefined) {
      // No enhanced authentication methods are configured [MQTT-4.12.0-1].
      return reject(channel, ReasonCode.BadAuthenticationMethod);
    }
  }

  let clientId = packet.clientId ?? "";
  let clientIdAssigned = false;
  if (clientId.length === 0) {
    // v3.1 requires 1-23 characters; v3.1.1 allows empty only with CleanSession=1 [MQTT-3.1.3-8].
    if (version === 3 || (version === 4 && !packet.clean)) {
      return reject(channel, ReasonCode.ClientIdentifierNotValid);
    }
    clientId = options.assignedClientIdPrefix + randomUUID();
    clientIdAssigned = true;
  } else if (clientId.includes("\u0000") || clientId.includes("\ufffd")) {
    return reject(channel, ReasonCode.ClientIdentifierNotValid);
  }

  // A UTF-8 string holding U+0000 (or ill-formed UTF-8, decoded as U+FFFD) is malformed
  // [MQTT-1.5.4-1, MQTT-1.5.4-2]: v5 answers CONNACK 0x81, v3 closes without one [MQTT-1.5.3-2].
  const username = packet.username;
  if (username !== undefined && (username.includes("\u0000") || username.includes("\ufffd"))) {
    if (version === 5) return reject(channel, ReasonCode.MalformedPacket);
    channel.broker.stats.malformedPackets++;
    return channel.connection.destroy();
  }

  const will = packet.will;
  if (will) {
    if (!isValidTopicName(will.topic)) return reject(channel, ReasonCode.TopicNameInvalid);
    if ((will.qos ?? 0) > options.maximumQoS) return reject(channel, ReasonCode.QoSNotSupported);
    if (will.retain && !options.retainAvailable) return reject(channel, ReasonCode.RetainNotSupported);
  }

  const result = broker.hooks.authenticate({
    clientId,
    clientIdAssigned,
    username: packet.username,
    password: packet.password,
    protocolVersion: version,
    remoteAddress: channel.transport.remoteAddress as string | undefined,
    transport: channel.transport,
  });
  if (result instanceof Promise) {
    return result.then(
      (r) => accept(channel, packet, clientId, clientIdAssigned, r),
      () => reject(channel, ReasonCode.ServerUnavailable),
    );
  }
  return accept(channel, packet, clientId, clientIdAssigned, result);
}

function reject(channel: Channel, reasonCode: number, reasonString?: string): void {
  channel.broker.stats.connectionsRefused++;
  // A refused CONNECT gets a CONNACK with the reason, then the connection closes [MQTT-3.2.2-7].
  if (channel.protocolVersion === 5) {
    const connack: mqtt.IConnackPacket = { cmd: "connack", sessionPresent: false, reasonCode };
    if (reasonString) connack.properties = { reasonString };
    channel.send(connack);
  } else {
    channel.send({ cmd: "connack", sessionPresent: false, returnCode: toV3ConnackCode(reasonCode) });
  }
  channel.connection.end();
}

function accept(
  channel: Channel,
  packet: mqtt.IConnectPacket,
  clientId: string,
  clientIdAssigned: boolean,
  auth: AuthenticateResult,
): void {
  if (channel.state === "closed") return;
  if (!auth.ok) return reject(channel, auth.reasonCode, auth.reasonString);

  const broker = channel.broker;
  const options = broker.options;
  const version = channel.protocolVersion;
  const props = packet.properties ?? {};
  const mountPoint = auth.mountPoint ?? "";
  const client: ClientInfo = {
    clientId,
    username: packet.username,
    protocolVersion: version,
    remoteAddress: channel.transport.remoteAddress as string | undefined,
    mountPoint,
    attributes: auth.attributes ?? {},
  };
  channel.client = client;
  // Client ids are unique per namespace: the same id under two mount points is two sessions.
  const key = mountPoint.length === 0 ? clientId : `${mountPoint}\u0000${clientId}`;

  const existing = broker.connected.get(key);
  if (existing && existing !== channel) existing.takeover();

  // Session Expiry: v5 from the property (capped), v3 from CleanSession [MQTT-3.1.2-23].
  let expiry: number;
  let expiryCapped = false;
  if (version === 5) {
    expiry = props.sessionExpiryInterval ?? 0;
    if (expiry > options.maxSessionExpiryInterval) {
      expiry = options.maxSessionExpiryInterval;
      expiryCapped = true;
    }
  } else {
    expiry = packet.clean ? 0 : options.v3SessionExpiryInterval;
  }
  channel.connectSessionExpiry = props.sessionExpiryInterval ?? 0;

  let session = broker.sessions.get(key);
  if (session && (packet.clean || session.expiryInterval === 0)) {
    // Clean Start discards any existing session [MQTT-3.1.2-4].
    broker.endSession(session);
    session = undefined;
  }
  const sessionPresent = session !== undefined;
  if (session) {
    // Resuming: a delayed will of the previous connection is cancelled [MQTT-3.1.3-9].
    broker.cancelWill(key);
    if (session.expiryTimer) clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
  } else {
    session = new Session(key);
    broker.sessions.set(key, session);
  }
  session.expiryInterval = expiry;
  session.maxQueued = auth.limits?.maxQueuedMessages;
  channel.session = session;
  const maxPacketSize = Math.min(options.maxPacketSize, auth.limits?.maxPacketSize ?? Infinity);
  channel.connection.maxIncoming = maxPacketSize;

  channel.receiveMaximum = options.receiveMaximum;
  channel.topicAliasMaximum = options.topicAliasMaximum;
  if (version === 5) {
    channel.sendWindow = Math.min(props.receiveMaximum ?? 65535, options.maxInflightOut);
    channel.clientMaxPacketSize = props.maximumPacketSize ?? 0;
    channel.requestProblemInformation = props.requestProblemInformation !== false;
    if (options.outgoingTopicAliases) channel.clientAliasMaximum = props.topicAliasMaximum ?? 0;
  } else {
    channel.sendWindow = options.maxInflightOut;
  }

  // Keep alive, or the server's override in v5 [MQTT-3.2.2-21].
  let keepAlive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (version === 5 && options.maxKeepAlive > 0 && (keepAlive === 0 || keepAlive > options.maxKeepAlive)) {
    keepAlive = options.maxKeepAlive;
    serverKeepAlive = keepAlive;
  }
  channel.keepAliveMs = keepAlive * 1000;

  if (packet.will) channel.will = buildWill(packet.will, client, key);

  const connack: mqtt.IConnackPacket = { cmd: "connack", sessionPresent };
  if (version === 5) {
    connack.reasonCode = ReasonCode.Success;
    const p: NonNullable<mqtt.IConnackPacket["properties"]> = {};
    if (clientIdAssigned) p.assignedClientIdentifier = clientId; // [MQTT-3.2.2-16]
    if (expiryCapped) p.sessionExpiryInterval = expiry;
    if (channel.receiveMaximum < 65535) p.receiveMaximum = channel.receiveMaximum;
    if (options.maximumQoS < 2) p.maximumQoS = options.maximumQoS;
    if (!options.retainAvailable) p.retainAvailable = false;
    p.maximumPacketSize = maxPacketSize;
    if (channel.topicAliasMaximum > 0) p.topicAliasMaximum = channel.topicAliasMaximum;
    if (!options.wildcardSubscriptionAvailable) p.wildcardSubscriptionAvailable = false;
    if (!options.subscriptionIdentifiersAvailable) p.subscriptionIdentifiersAvailable = false;
    if (!options.sharedSubscriptionAvailable) p.sharedSubscriptionAvailable = false;
    if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive;
    connack.properties = p;
  } else {
    connack.returnCode = 0;
  }
  session.owner = channel;
  broker.persistSession(session);
  if (channel.will) broker.registerWill(key, client, channel.will.message, channel.will.delay);
  // CONNACK promises the session (Session Present) and its will are safe.
  broker.holdUntilDurable(channel.connection);
  channel.send(connack);

  channel.state = "connected";
  channel.connectedAt = broker.now;
  channel.cleanStart = packet.clean === true;
  broker.connected.set(key, channel);
  broker.stats.connections++;
  broker.stats.connectionsTotal++;

  // Resend unacknowledged PUBLISH (DUP=1) and PUBREL in their original order
  // [MQTT-4.4.0-1], PUBLISHes only within the client's Receive Maximum
  // [MQTT-3.3.4-7]; the rest wait in heldResends for acknowledgements.
  session.heldResends.length = 0;
  let resent = 0;
  for (const inflight of session.inflight.values()) {
    if (inflight.released) {
      channel.writePubrel(inflight.packetId);
    } else if (resent >= channel.sendWindow) {
      session.heldResends.push(inflight);
      continue;
    } else {
      channel.writeDelivery(inflight.delivery, inflight.packetId, true);
    }
    resent++;
  }
  broker.drainQueue(session);
  broker.hooks.onClientConnected?.(client);
}

/** The will as a message; its expiry starts when it is published (Broker#publishWill). */
function buildWill(will: NonNullable<mqtt.IConnectPacket["will"]>, client: ClientInfo, senderId: string) {
  const wp = will.properties ?? {};
  let properties: MessageProperties | undefined;
  if (will.properties) {
    properties = {};
    if (wp.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = wp.payloadFormatIndicator;
    if (wp.messageExpiryInterval !== undefined) properties.messageExpiryInterval = wp.messageExpiryInterval;
    if (wp.contentType !== undefined) properties.contentType = wp.contentType;
    if (wp.responseTopic !== undefined) properties.responseTopic = wp.responseTopic;
    if (wp.correlationData !== undefined) properties.correlationData = wp.correlationData;
    if (wp.userProperties !== undefined) properties.userProperties = wp.userProperties;
  }
  const message: Message = {
    topic: client.mountPoint + will.topic,
    payload: Buffer.isBuffer(will.payload) ? will.payload : Buffer.from(will.payload ?? ""),
    qos: (will.qos ?? 0) as QoS,
    retain: will.retain === true,
    properties,
    expiresAt: undefined,
    senderId,
  };
  return { message, delay: wp.willDelayInterval ?? 0 };
}
