import { z } from "zod";
import { isValidTopicFilter, isValidTopicName } from "@halyard/engine/topic";
import { clientId, isoDate, pageQuery, slug } from "./common.ts";

/**
 * Live monitoring of the broker (the console's dashboards): per-tenant
 * traffic snapshots (also streamed as Server-Sent Events), minute series,
 * connected clients, retained messages and the connection log. Figures are
 * those of the broker process that answers; counters start at zero when it
 * starts.
 */

const count = z.number().int().min(0);

/** Name of the Server-Sent Event that carries a snapshot (`event: stats`), one per second. */
export const STATS_EVENT = "stats";

export const trafficRates = z.object({
  messagesIn: z.number().min(0),
  messagesOut: z.number().min(0),
  bytesIn: z.number().min(0),
  bytesOut: z.number().min(0),
});

export const trafficTotals = z.object({ messagesIn: count, messagesOut: count, bytesIn: count, bytesOut: count });

export const topTopic = z.object({ topic: z.string(), messages: count, bytes: count });

/** GET /tenants/:tenant/stats and each `stats` event of /tenants/:tenant/stats/stream. */
export const tenantStats = z.object({
  at: isoDate,
  connections: count,
  /** Per second, averaged over the last ~5 s. */
  rates: trafficRates,
  /** Since the broker process started. */
  totals: trafficTotals,
  /** Messages dropped, by reason (queue-full, slow-consumer, quota-message-rate, ...). */
  drops: z.record(z.string(), count),
  /** Refusals, by reason (publish, subscribe, quota-connections, keep-alive-timeout, ...). */
  denials: z.record(z.string(), count),
  retained: count,
  subscriptions: count,
  queued: count,
  inflight: count,
  /** Top 10 topics by messages published in the last minute (topics as the tenant's devices write them). */
  topTopics: z.array(topTopic),
});

export const statsRange = z.enum(["1h", "24h"]);
export const statsSeriesQuery = z.object({ range: statsRange.default("1h") }).strict();

/** Traffic of one minute; the last point is the current, partial minute. */
export const statsPoint = z.object({
  at: isoDate,
  connections: count,
  messagesIn: count,
  messagesOut: count,
  bytesIn: count,
  bytesOut: count,
  drops: count,
  denials: count,
});
/** One point per minute of the range, oldest first, minutes without traffic as zeros. */
export const statsSeries = z.array(statsPoint);

export const platformTenantRow = z.object({ slug, connections: count, messagesInRate: z.number().min(0), messagesOutRate: z.number().min(0) });

/** GET /platform/stats and each `stats` event of /platform/stats/stream (platform administrators). */
export const platformStats = z.object({
  at: isoDate,
  connections: count,
  rates: trafficRates,
  totals: trafficTotals,
  drops: z.record(z.string(), count),
  retained: count,
  subscriptions: count,
  sessions: count,
  queued: count,
  inflight: count,
  tenants: z.array(platformTenantRow),
});

// ---- connected clients -------------------------------------------------------------

export const clientListQuery = pageQuery.extend({ search: z.string().max(256).optional() }).strict();

export const clientSubscription = z.object({
  /** As the client subscribed (`$share/<group>/<filter>` for shared subscriptions). */
  filter: z.string(),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]),
});

export const connectedClient = z.object({
  clientId: z.string(),
  /** The platform device it authenticated as. */
  deviceId: z.string().nullable(),
  /** The username as the client sent it. */
  username: z.string().nullable(),
  protocolVersion: z.union([z.literal(3), z.literal(4), z.literal(5)]),
  address: z.string().nullable(),
  connectedAt: isoDate,
  cleanStart: z.boolean(),
  /** Seconds; 0 ends the session with the connection, 4294967295 never. */
  sessionExpiryInterval: count,
  /** Seconds; 0 is none. */
  keepAlive: count,
  subscriptions: z.array(clientSubscription),
  inflight: count,
  queued: count,
  transport: z.enum(["tcp", "tls", "ws", "wss"]),
});

export const clientIdParam = clientId;

// ---- retained messages ----------------------------------------------------------------

const topicFilter = z
  .string()
  .min(1)
  .max(4096)
  .refine((f) => !f.startsWith("$share/"), "shared-subscription prefixes select no retained messages")
  .refine((f) => isValidTopicFilter(f), "not a valid MQTT topic filter (`+` and `#` must be whole levels, `#` last)");

const topicName = z
  .string()
  .min(1)
  .max(4096)
  .refine((t) => isValidTopicName(t), "not a valid MQTT topic name (no `+` or `#`)");

export const retainedQuery = z
  .object({
    filter: topicFilter.default("#"),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export const retainedDeleteQuery = z.object({ topic: topicName }).strict();

export const retainedMessage = z.object({
  /** As the tenant's devices see it (without the tenant's namespace). */
  topic: z.string(),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  payloadSize: count,
  /** The first 256 bytes: UTF-8 text when printable, otherwise base64. */
  payloadPreview: z.string(),
  payloadEncoding: z.enum(["utf8", "base64"]),
  at: isoDate.optional(),
});
/** Sorted by topic, at most `limit`. */
export const retainedList = z.array(retainedMessage);

// ---- connection log -------------------------------------------------------------------

export const connectionEventType = z.enum(["connected", "disconnected", "auth_failed", "kicked"]);

export const connectionEventQuery = pageQuery
  .extend({
    clientId: clientId.optional(),
    type: connectionEventType.optional(),
  })
  .strict();

export const connectionEvent = z.object({
  at: isoDate,
  type: connectionEventType,
  clientId: z.string(),
  username: z.string().nullable(),
  address: z.string().nullable(),
  reason: z.string().nullable(),
});

export type TenantStats = z.infer<typeof tenantStats>;
export type StatsPoint = z.infer<typeof statsPoint>;
export type PlatformStats = z.infer<typeof platformStats>;
export type ConnectedClient = z.infer<typeof connectedClient>;
export type RetainedMessage = z.infer<typeof retainedMessage>;
export type ConnectionEvent = z.infer<typeof connectionEvent>;
