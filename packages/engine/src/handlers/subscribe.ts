import type mqtt from "mqtt-packet";
import type { Channel, HandlerResult } from "../channel.ts";
import type { ClientInfo } from "../hooks.ts";
import type { QoS } from "../message.ts";
import { ReasonCode, V3SubackFailure } from "../reason-codes.ts";
import type { Session, Subscription } from "../session.ts";
import { hasWildcard, isValidTopicFilter, parseSharedFilter } from "../topic.ts";

interface Request {
  filter: string;
  qos: QoS;
  nl: boolean;
  rap: boolean;
  rh: 0 | 1 | 2;
  shared: { group: string; filter: string } | null;
  /** Failure code decided before authorization, if any. */
  code: number | undefined;
}

/**
 * SUBSCRIBE [MQTT-3.8]: validate each filter, authorize it, store it, answer
 * SUBACK with one code per filter in order [MQTT-3.8.4-6], then send retained
 * messages as Retain Handling asks [MQTT-3.3.1-9..11].
 */
export function handleSubscribe(channel: Channel, packet: mqtt.ISubscribePacket): HandlerResult {
  const options = channel.broker.options;
  const subscriptionId = packet.properties?.subscriptionIdentifier as number | undefined;
  if (subscriptionId !== undefined && !options.subscriptionIdentifiersAvailable) {
    return channel.disconnect(ReasonCode.SubscriptionIdentifiersNotSupported);
  }
  // 1 to 268,435,455, and present at most once (the codec returns an array
  // for a repeated property): anything else is a protocol error (section 3.8.2.1.2).
  if (subscriptionId === 0 || Array.isArray(subscriptionId)) return channel.protocolError("Subscription Identifier 0 or repeated");
  const requests: Request[] = [];
  for (const s of packet.subscriptions) {
    // Ill-formed UTF-8 (decoded as U+FFFD, see topic.ts) makes the packet malformed [MQTT-1.5.4-1].
    if (s.topic.includes("\ufffd")) return channel.disconnect(ReasonCode.MalformedPacket, "Topic Filter is not valid UTF-8");
    const shared = parseSharedFilter(s.topic);
    const req: Request = {
      filter: s.topic,
      qos: s.qos,
      nl: s.nl === true,
      rap: s.rap === true,
      rh: (s.rh ?? 0) as 0 | 1 | 2,
      shared: shared === "invalid" ? null : shared,
      code: undefined,
    };
    if (shared === "invalid" || !isValidTopicFilter(s.topic)) req.code = ReasonCode.TopicFilterInvalid;
    else if (shared && !options.sharedSubscriptionAvailable) req.code = ReasonCode.SharedSubscriptionsNotSupported;
    else if (shared && req.nl) return channel.protocolError(); // No Local on a shared subscription [MQTT-3.8.3-4]
    else if (!options.wildcardSubscriptionAvailable && hasWildcard(s.topic)) req.code = ReasonCode.WildcardSubscriptionsNotSupported;
    requests.push(req);
  }

  const client = channel.client as ClientInfo;
  const hooks = channel.broker.hooks;
  const decisions: (number | Promise<number>)[] = requests.map((r) =>
    r.code !== undefined ? r.code : hooks.authorizeSubscribe(client, r.filter, r.qos),
  );
  if (decisions.some((d) => d instanceof Promise)) {
    return Promise.all(decisions.map((d) => Promise.resolve(d).catch(() => ReasonCode.UnspecifiedError))).then((codes) =>
      complete(channel, packet, requests, codes, subscriptionId),
    );
  }
  complete(channel, packet, requests, decisions as number[], subscriptionId);
}

function complete(
  channel: Channel,
  packet: mqtt.ISubscribePacket,
  requests: Request[],
  decisions: number[],
  subscriptionId: number | undefined,
): void {
  if (channel.state === "closed") return;
  const broker = channel.broker;
  const session = channel.session as Session;
  const mount = (channel.client as ClientInfo).mountPoint;
  const v5 = channel.protocolVersion === 5;
  const granted: number[] = [];
  const retained: { sub: Subscription; existed: boolean }[] = [];

  for (let i = 0; i < requests.length; i++) {
    const req = requests[i] as Request;
    const decision = decisions[i] as number;
    if (decision >= 0x80) {
      if (decision === ReasonCode.NotAuthorized) broker.stats.authorizationDenials++;
      granted.push(v5 ? decision : V3SubackFailure);
      continue;
    }
    const qos = Math.min(req.qos, decision, broker.options.maximumQoS) as QoS;
    const sub: Subscription = {
      shared: false,
      session,
      filter: mount + (req.shared ? req.shared.filter : req.filter),
      qos,
      noLocal: req.nl,
      retainAsPublished: req.rap,
      retainHandling: req.rh,
      subscriptionId,
      group: req.shared?.group,
    };
    const existed = broker.subscribe(sub);
    granted.push(qos);
    // Retained messages are not sent for shared subscriptions (section 4.8.2).
    if (!req.shared) retained.push({ sub, existed });
  }

  broker.holdUntilDurable(channel.connection);
  channel.send({ cmd: "suback", messageId: packet.messageId ?? 0, granted });

  for (const { sub, existed } of retained) {
    if (sub.retainHandling === 2 || (sub.retainHandling === 1 && existed)) continue;
    for (const message of broker.retainedFor(sub.filter, session.mountLength)) {
      // Retained messages sent on subscribe carry RETAIN=1 [MQTT-3.3.1-8].
      broker.deliver(session, {
        message,
        qos: (message.qos < sub.qos ? message.qos : sub.qos) as QoS,
        retain: true,
        subscriptionIds: sub.subscriptionId === undefined ? undefined : [sub.subscriptionId],
      });
    }
  }
}
