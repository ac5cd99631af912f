import mqtt from "mqtt-packet";
import type { Broker } from "./broker.ts";
import type { Connection } from "./connection.ts";
import { handleAuth } from "./handlers/auth.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handleDisconnect } from "./handlers/disconnect.ts";
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from "./handlers/acks.ts";
import { handlePublish } from "./handlers/publish.ts";
import { handleSubscribe } from "./handlers/subscribe.ts";
import { handleUnsubscribe } from "./handlers/unsubscribe.ts";
import type { ClientInfo } from "./hooks.ts";
import type { Message } from "./message.ts";
import { isExpired } from "./message.ts";
import { checkProperties } from "./packet-check.ts";
import { encodePublish } from "./publish-encoder.ts";
import { ReasonCode } from "./reason-codes.ts";
import type { Delivery, Session, SessionOwner } from "./session.ts";

type State = "awaiting-connect" | "connecting" | "connected" | "closed";

/** A handler returns a promise only when it waits on an asynchronous hook. */
export type HandlerResult = void | Promise<void>;

const PINGRESP: mqtt.IPingrespPacket = { cmd: "pingresp" };

/** First byte of the acknowledgement packets (type and fixed flags). */
export const AckType = { Puback: 0x40, Pubrec: 0x50, Pubrel: 0x62, Pubcomp: 0x70 } as const;
export type AckType = (typeof AckType)[keyof typeof AckType];

/**
 * Protocol state of one network connection [MQTT-4.1]: what was negotiated
 * at CONNECT, the attached session, aliases, the will. Packets are
 * dispatched to one handler per packet type (handlers/). Packets are handled
 * strictly in arrival order: when a handler waits on an asynchronous hook the
 * packets behind it wait too, so acknowledgements keep their order
 * [MQTT-4.6.0-2, MQTT-4.6.0-3].
 */
export class Channel implements SessionOwner {
  readonly broker: Broker;
  readonly connection: Connection;
  readonly transport: Readonly<Record<string, unknown>>;
  state: State = "awaiting-connect";
  readonly createdAt: number;
  /** When CONNACK accepted the client (ms since epoch); 0 before. For the connected-clients view. */
  connectedAt = 0;
  /** Clean Start (v5) / Clean Session (v3) as the client sent it in CONNECT. */
  cleanStart = false;
  protocolVersion: 3 | 4 | 5 = 4;
  client: ClientInfo | undefined;
  session: Session | undefined;
  /** Will message and its delay in seconds; cleared by a normal DISCONNECT [MQTT-3.1.2-10]. */
  will: { message: Message; delay: number } | undefined;
  keepAliveMs = 0;
  sendWindow = 65535;
  /** Largest packet the client accepts [MQTT-3.1.2-24]. */
  clientMaxPacketSize = 0;
  requestProblemInformation = true;
  /** Session expiry given at CONNECT; 0 forbids raising it at DISCONNECT [MQTT-3.14.2-2]. */
  connectSessionExpiry = 0;
  /** Inbound aliases set by the client [MQTT-3.3.2-12]. */
  aliasesIn: Map<number, string> | undefined;
  /** Outbound aliases the broker assigned, by routed topic. */
  aliasesOut: Map<string, number> | undefined;
  clientAliasMaximum = 0;
  /**
   * Receive Maximum and Topic Alias Maximum this connection was told in its
   * CONNACK: the broker's options may change at run time (updateOptions), but
   * a connected client keeps the limits it was given [MQTT-3.3.4-9].
   */
  receiveMaximum = 0;
  topicAliasMaximum = 0;
  /** QoS 1 PUBLISHes received but not yet acknowledged (while hooks run). */
  inboundPending = 0;
  takenOver = false;
  /** Reason of a server-initiated close (0 when the client or the network ended it). */
  private closeReason: number | undefined;
  private backlog: mqtt.Packet[] | undefined;
  private busy = false;

  constructor(broker: Broker, connection: Connection, transport: Record<string, unknown>) {
    this.broker = broker;
    this.connection = connection;
    this.transport = transport;
    this.createdAt = broker.now;
  }

  get sessionKey(): string {
    return this.session?.key ?? "";
  }

  // ---- input -----------------------------------------------------------------

  onPacket(packet: mqtt.Packet): void {
    if (this.state === "closed") return;
    if (this.busy) {
      (this.backlog ??= []).push(packet);
      return;
    }
    this.dispatch(packet);
  }

  private dispatch(packet: mqtt.Packet): void {
    let result: HandlerResult;
    try {
      result = this.route(packet);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (result) this.wait(result);
  }

  private wait(result: Promise<void>): void {
    this.busy = true;
    result.then(
      () => this.resume(),
      (err: unknown) => this.fail(err),
    );
  }

  private resume(): void {
    this.busy = false;
    const backlog = this.backlog;
    while (backlog && backlog.length > 0 && !this.busy && this.state !== "closed") {
      this.dispatch(backlog.shift() as mqtt.Packet);
    }
  }

  private fail(_err: unknown): void {
    this.disconnect(ReasonCode.ImplementationSpecificError);
  }

  private route(packet: mqtt.Packet): HandlerResult {
    if ((packet as { properties?: unknown }).properties !== undefined || packet.cmd === "connect") {
      const invalid = checkProperties(packet);
      if (invalid !== 0) return this.onInvalidProperties(invalid);
    }
    if (this.state === "awaiting-connect") {
      // The first packet must be CONNECT [MQTT-3.1.0-1].
      if (packet.cmd !== "connect") return this.connection.destroy();
      return handleConnect(this, packet);
    }
    switch (packet.cmd) {
      case "publish":
        return handlePublish(this, packet);
      case "puback":
        return handlePuback(this, packet);
      case "pubrec":
        return handlePubrec(this, packet);
      case "pubrel":
        return handlePubrel(this, packet);
      case "pubcomp":
        return handlePubcomp(this, packet);
      case "subscribe":
        return handleSubscribe(this, packet);
      case "unsubscribe":
        return handleUnsubscribe(this, packet);
      case "pingreq":
        return this.send(PINGRESP);
      case "disconnect":
        return handleDisconnect(this, packet);
      case "auth":
        return handleAuth(this, packet);
      case "connect":
        // A second CONNECT is a protocol error [MQTT-3.1.0-2].
        return this.protocolError("Second CONNECT");
      default:
        // Server-to-client packets from a client [MQTT-4.8.0-1 in v5 terms: protocol error].
        return this.protocolError(`${packet.cmd.toUpperCase()} is not sent by a client`);
    }
  }

  onParseError(err: Error): void {
    this.broker.stats.malformedPackets++;
    if (this.state === "awaiting-connect") {
      // Unknown protocol level: v3 CONNACK 0x01, then close [MQTT-3.1.2-2].
      if (err.message === "Invalid protocol version") {
        this.send({ cmd: "connack", returnCode: 1, sessionPresent: false });
        this.connection.end();
      } else {
        this.connection.destroy();
      }
      return;
    }
    this.disconnect(ReasonCode.MalformedPacket, err.message);
  }

  /** Unreadable or repeated property values (section 2.2.2.2); a bad CONNECT is dropped like a malformed one. */
  private onInvalidProperties(reasonCode: number): void {
    if (reasonCode === ReasonCode.MalformedPacket) this.broker.stats.malformedPackets++;
    if (this.state === "awaiting-connect") return this.connection.destroy();
    this.disconnect(reasonCode, reasonCode === ReasonCode.MalformedPacket ? "Unreadable property value" : "Property given more than once");
  }

  onPacketTooLarge(): void {
    this.broker.stats.malformedPackets++;
    this.disconnect(ReasonCode.PacketTooLarge, `Packet larger than Maximum Packet Size ${this.connection.maxIncoming}`);
  }

  protocolError(reasonString?: string): void {
    this.disconnect(ReasonCode.ProtocolError, reasonString);
  }

  // ---- output ----------------------------------------------------------------

  send(packet: mqtt.Packet): void {
    this.connection.write(encode(packet, this.protocolVersion));
  }

  /**
   * PUBACK/PUBREC/PUBREL/PUBCOMP with success and no properties: four fixed
   * bytes (in v5 a Success reason code with no properties may be omitted,
   * section 3.4.2.1). Written by hand because every QoS 1/2 message costs one
   * or more of them.
   */
  sendAck(type: AckType, packetId: number): void {
    const frame = Buffer.allocUnsafe(4);
    frame[0] = type;
    frame[1] = 2;
    frame[2] = packetId >> 8;
    frame[3] = packetId & 0xff;
    this.connection.write(frame);
  }

  /**
   * Server-initiated close. v5 clients get a DISCONNECT with the reason
   * [MQTT-3.14.1-1]; DISCONNECT is only sent after CONNACK [MQTT-3.2.0-2].
   * The will is kept: it is published on any close but a normal client
   * DISCONNECT [MQTT-3.1.2-8].
   */
  disconnect(reasonCode: number, reasonString?: string, serverReference?: string): void {
    if (this.state === "closed") return;
    this.closeReason ??= reasonCode;
    if (this.state === "connected" && this.protocolVersion === 5) {
      const packet: mqtt.IDisconnectPacket = { cmd: "disconnect", reasonCode };
      if (reasonString && this.requestProblemInformation) packet.properties = { reasonString };
      // With 0x9C Use another server / 0x9D Server moved: where to go [MQTT-4.11].
      if (serverReference) packet.properties = { ...packet.properties, serverReference };
      let frame = encode(packet, 5);
      // No Reason String that would make the packet too large for the client [MQTT-3.14.2-3].
      if (this.clientMaxPacketSize > 0 && frame.length > this.clientMaxPacketSize) frame = encode({ cmd: "disconnect", reasonCode }, 5);
      this.connection.write(frame);
    }
    this.connection.end();
    if (this.state !== "connected") this.connection.destroy();
  }

  /** Another connection claimed this client id [MQTT-3.1.4-3]. */
  takeover(): void {
    this.takenOver = true;
    this.disconnect(ReasonCode.SessionTakenOver);
    this.connection.destroy();
  }

  // ---- SessionOwner ----------------------------------------------------------

  writeDelivery(delivery: Delivery, packetId: number, dup: boolean): boolean {
    const broker = this.broker;
    const message = delivery.message;
    const session = this.session as Session;
    if (delivery.qos === 0 && this.connection.backlog > broker.options.maxWriteBuffer) return false;
    const authorizeDeliver = broker.hooks.authorizeDeliver;
    if (authorizeDeliver) {
      const client = this.client as ClientInfo;
      if (!authorizeDeliver(client, message.topic.slice(client.mountPoint.length))) {
        this.discardInflight(session, packetId);
        broker.drop(session, message, "not-authorized");
        return true;
      }
    }
    const now = broker.now;
    if (message.expiresAt !== undefined && isExpired(message, now)) {
      this.discardInflight(session, packetId);
      broker.drop(session, message, "expired");
      return true;
    }
    let topicAlias: number | undefined;
    let aliasOnly = false;
    if (this.clientAliasMaximum > 0) {
      const aliases = (this.aliasesOut ??= new Map());
      topicAlias = aliases.get(message.topic);
      if (topicAlias !== undefined) {
        aliasOnly = true;
      } else if (aliases.size < this.clientAliasMaximum) {
        topicAlias = aliases.size + 1;
        aliases.set(message.topic, topicAlias);
      }
    }
    const client = this.client as ClientInfo;
    const frame = encodePublish(
      message,
      client,
      { qos: delivery.qos, retain: delivery.retain, subscriptionIds: delivery.subscriptionIds, topicAlias, aliasOnly },
      packetId,
      dup,
      now,
    );
    // Never send a packet larger than the client's Maximum Packet Size; it is
    // discarded as if delivered [MQTT-3.1.2-25].
    if (this.clientMaxPacketSize > 0 && frame.length > this.clientMaxPacketSize) {
      if (topicAlias !== undefined && !aliasOnly) this.aliasesOut?.delete(message.topic);
      this.discardInflight(session, packetId);
      broker.drop(session, message, "too-large");
      return true;
    }
    // A QoS 2 PUBLISH fixes its packet id for good: the id must be durable
    // first, or a restart could resend it under another id (a duplicate).
    if (delivery.qos === 2 && delivery.seq !== undefined) broker.holdUntilDurable(this.connection);
    this.connection.write(frame);
    broker.stats.messagesSent++;
    broker.hooks.onMessageDelivered?.(client, message);
    return true;
  }

  writePubrel(packetId: number): void {
    // Once PUBREL is out the client may forget the message; the released state must be durable first.
    this.broker.holdUntilDurable(this.connection);
    this.sendAck(AckType.Pubrel, packetId);
  }

  /** Ends a flow that will not be written; deferred because we may be inside the broker's drain loop. */
  private discardInflight(session: Session, packetId: number): void {
    if (packetId === 0) return;
    queueMicrotask(() => this.broker.completeInflight(session, packetId));
  }

  /** A normal DISCONNECT: the will is discarded [MQTT-3.1.2-10]. */
  discardWill(): void {
    if (!this.will) return;
    this.will = undefined;
    this.broker.discardWill(this.sessionKey);
  }

  // ---- lifecycle ---------------------------------------------------------------

  /** Keep-alive [MQTT-3.1.2-24] and connect timeout, driven by the broker's 1 s ticker. */
  tick(now: number): void {
    if (this.state === "awaiting-connect" || this.state === "connecting") {
      if (now - this.createdAt > this.broker.options.connectTimeoutMs) this.connection.destroy();
      return;
    }
    if (this.state === "connected" && this.keepAliveMs > 0 && now - this.connection.lastActivity > this.keepAliveMs * 1.5) {
      this.disconnect(ReasonCode.KeepAliveTimeout);
    }
  }

  onClose(): void {
    const wasConnected = this.state === "connected";
    this.state = "closed";
    const broker = this.broker;
    broker.channels.delete(this);
    if (!wasConnected) return;
    const session = this.session as Session;
    const client = this.client as ClientInfo;
    broker.stats.connections--;
    if (broker.connected.get(session.key) === this) broker.connected.delete(session.key);
    if (this.will) {
      // Published after the will delay, or when the session ends if sooner [MQTT-3.1.3-9].
      const delay = session.expiryInterval === 0 && !this.takenOver ? 0 : this.will.delay;
      broker.scheduleWill(session.key, client, this.will.message, delay);
      this.will = undefined;
    }
    if (!this.takenOver && session.owner === this) broker.sessionOffline(session);
    broker.hooks.onClientDisconnected?.(client, this.closeReason ?? 0);
  }
}

function encode(packet: mqtt.Packet, protocolVersion: number): Buffer {
  return mqtt.generate(packet, { protocolVersion });
}
