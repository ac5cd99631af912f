import { z } from "zod";
import { clientId, description, isoDate, name, pageQuery, slug, tag, tenantRole, uuid } from "./common.ts";
import { isValidTopicFilter, isValidTopicName, parseSharedFilter } from "@halyard/engine/topic";
import { ruleTopicFilter } from "./topic-filter.ts";

// ---- tenants ---------------------------------------------------------------

const quota = z.number().int().min(0).max(2_147_483_647).nullable();

export const tenantQuotas = z
  .object({
    maxConnections: quota,
    maxSubscriptionsPerClient: quota,
    maxMessagesPerSecond: quota,
    maxBytesPerSecond: quota,
    maxRetainedMessages: quota,
    maxQueuedMessages: quota,
    maxPacketSize: z.number().int().min(64).max(268_435_455).nullable(),
  })
  .partial()
  .strict();

export const createTenant = z.object({ slug, name, quotas: tenantQuotas.optional() }).strict();
export const updateTenant = z
  .object({ name: name.optional(), status: z.enum(["active", "suspended"]).optional(), quotas: tenantQuotas.optional() })
  .strict();
export const tenant = z.object({
  id: uuid,
  slug,
  name,
  status: z.enum(["active", "suspended"]),
  quotas: tenantQuotas,
  createdAt: isoDate,
  updatedAt: isoDate,
});
export const tenantListQuery = pageQuery.extend({ q: z.string().max(200).optional() }).strict();

// ---- memberships -------------------------------------------------------------

export const createMembership = z
  .object({ issuer: z.string().min(1).max(500), subject: z.string().min(1).max(255), role: tenantRole, email: z.email().optional() })
  .strict();
export const updateMembership = z.object({ role: tenantRole }).strict();
export const membership = z.object({
  userId: uuid,
  issuer: z.string(),
  subject: z.string(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  role: tenantRole,
  createdAt: isoDate,
});

// ---- devices -------------------------------------------------------------------

export const createDevice = z
  .object({ clientId, description: description.optional(), tags: z.array(tag).max(32).optional(), enabled: z.boolean().optional() })
  .strict();
export const updateDevice = z
  .object({ description: description.nullable().optional(), tags: z.array(tag).max(32).optional(), enabled: z.boolean().optional() })
  .strict();
export const device = z.object({
  id: uuid,
  clientId: z.string(),
  description: z.string().nullable(),
  tags: z.array(z.string()),
  enabled: z.boolean(),
  groupIds: z.array(uuid),
  /** Whether the device holds a live MQTT connection to the broker process that answered. */
  connected: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
});
export const deviceListQuery = pageQuery
  .extend({
    q: z.string().max(256).optional(),
    tag: tag.optional(),
    enabled: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
    groupId: uuid.optional(),
    connected: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  })
  .strict();

/** Most rows one import takes. */
export const DEVICE_IMPORT_MAX_ROWS = 10_000;

/**
 * Bulk import: CSV text with the header `clientId,description,tags,groups`
 * (any order; only clientId required); tags and groups (by name) separated by `;`.
 */
export const importDevices = z
  .object({
    csv: z.string().min(1),
    /** Also create one generated password credential per device (username = client id); passwords are returned once. */
    createCredentials: z.boolean().optional(),
  })
  .strict();
export const importError = z.object({ line: z.number().int(), field: z.string(), message: z.string() });
export const importDevicesResult = z.object({
  created: z.number().int(),
  errors: z.array(importError),
  credentials: z.array(z.object({ clientId: z.string(), username: z.string(), password: z.string() })).optional(),
});

// ---- groups ----------------------------------------------------------------------

export const createGroup = z.object({ name, description: description.optional() }).strict();
export const updateGroup = z.object({ name: name.optional(), description: description.nullable().optional() }).strict();
export const group = z.object({ id: uuid, name: z.string(), description: z.string().nullable(), memberCount: z.number().int(), createdAt: isoDate });

// ---- credentials -------------------------------------------------------------------

/** Usernames are unique per tenant; the tenant may also be given as `<username>@<tenant>` at CONNECT. */
export const credentialUsername = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !s.includes("@") && !s.includes("\u0000"), "must not contain '@' (it separates the tenant) or U+0000");

export const createCredential = z
  .object({
    username: credentialUsername.optional(),
    /** Omit to have a strong password generated; either way it is shown once. */
    password: z.string().min(12).max(256).optional(),
    expiresAt: isoDate.optional(),
  })
  .strict();
export const updateCredential = z.object({ enabled: z.boolean().optional(), expiresAt: isoDate.nullable().optional() }).strict();
export const credential = z.object({
  id: uuid,
  deviceId: uuid,
  username: z.string(),
  enabled: z.boolean(),
  expiresAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
  revokedAt: isoDate.nullable(),
  createdAt: isoDate,
});
export const createdCredential = credential.extend({ password: z.string() });

// ---- certificate authorities and device certificates ------------------------------------

export const createAuthority = z.object({ name, validityDays: z.number().int().min(1).max(7300).default(3650) }).strict();
export const authority = z.object({
  id: uuid,
  name: z.string(),
  certificatePem: z.string(),
  fingerprintSha256: z.string(),
  notBefore: isoDate,
  notAfter: isoDate,
  revokedAt: isoDate.nullable(),
  createdAt: isoDate,
});

export const issueCertificate = z
  .object({
    authorityId: uuid,
    /** PEM CSR; omit to have a key pair generated (its private key is returned once). */
    csrPem: z.string().max(16_384).optional(),
    validityDays: z.number().int().min(1).max(3650).default(365),
  })
  .strict();
export const revocationReason = z.enum([
  "unspecified",
  "key_compromise",
  "ca_compromise",
  "affiliation_changed",
  "superseded",
  "cessation_of_operation",
]);
export const revokeCertificate = z.object({ reason: revocationReason.default("unspecified") }).strict();
export const certificate = z.object({
  id: uuid,
  deviceId: uuid,
  authorityId: uuid,
  serialNumber: z.string(),
  fingerprintSha256: z.string(),
  subject: z.string(),
  certificatePem: z.string(),
  notBefore: isoDate,
  notAfter: isoDate,
  revokedAt: isoDate.nullable(),
  revocationReason: revocationReason.nullable(),
  createdAt: isoDate,
});
export const issuedCertificate = certificate.extend({ privateKeyPem: z.string().optional() });

// ---- roles, rules, bindings ---------------------------------------------------------------

export const topicRule = z
  .object({
    effect: z.enum(["allow", "deny"]),
    action: z.enum(["publish", "subscribe", "both"]),
    topicFilter: ruleTopicFilter,
    priority: z.number().int().min(0).max(1_000_000).default(100),
  })
  .strict();
export const createRole = z
  .object({ name, description: description.optional(), rules: z.array(topicRule).max(10_000).default([]) })
  .strict();
export const updateRole = z
  .object({ name: name.optional(), description: description.nullable().optional(), rules: z.array(topicRule).max(10_000).optional() })
  .strict();
export const role = z.object({
  id: uuid,
  name: z.string(),
  description: z.string().nullable(),
  rules: z.array(topicRule.extend({ id: uuid })),
  createdAt: isoDate,
  updatedAt: isoDate,
});

/** Editor-side check of a role body (the create-role body) without saving it. */
export const roleValidationQuery = z.object({ roleId: uuid.optional() }).strict();
export const roleValidation = z.object({ valid: z.boolean(), issues: z.array(z.object({ path: z.string(), message: z.string() })) });

export const createBinding = z.object({ roleId: uuid, targetType: z.enum(["device", "group"]), targetId: uuid }).strict();
export const binding = createBinding.extend({ id: uuid, createdAt: isoDate });
export const bindingListQuery = pageQuery
  .extend({ roleId: uuid.optional(), targetType: z.enum(["device", "group"]).optional(), targetId: uuid.optional() })
  .strict();

// ---- access check ------------------------------------------------------------------------------

/**
 * "Would the broker let this device do this?" `topic` is a topic name for
 * publish and deliver, a filter (optionally `$share/<group>/<filter>`) for
 * subscribe. `username` is the `${username}` the device would have (the
 * credential it connects with); by default its only credential's username,
 * else its client id (as for certificate and token logins). `qos` and
 * `retain` describe the message but do not change the permission answer.
 */
export const accessCheck = z
  .object({
    deviceId: uuid,
    action: z.enum(["publish", "subscribe", "deliver"]),
    topic: z.string().min(1).max(65_535),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    retain: z.boolean().optional(),
    username: credentialUsername.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const problem = accessCheckTopicProblem(b.action, b.topic);
    if (problem) ctx.addIssue({ code: "custom", path: ["topic"], message: problem });
  });

function accessCheckTopicProblem(action: "publish" | "subscribe" | "deliver", topic: string): string | undefined {
  if (action !== "subscribe") {
    if (topic.includes("+") || topic.includes("#")) return `a ${action} topic is a topic name: wildcards (+ and #) are only for subscribe`;
    if (!isValidTopicName(topic)) return "not a valid MQTT topic name (no U+0000, well-formed UTF-8)";
    return undefined;
  }
  const shared = parseSharedFilter(topic);
  if (shared === "invalid") return "not a valid shared subscription: $share/<group>/<filter>, the group without + or #";
  if (!isValidTopicFilter(shared ? shared.filter : topic)) return "not a valid MQTT topic filter (`+` and `#` must be whole levels, `#` last)";
  return undefined;
}

export const accessCheckResult = z.object({
  allowed: z.boolean(),
  decidedBy: z
    .object({
      roleId: uuid,
      roleName: z.string(),
      ruleId: uuid,
      /** Position of the rule in its role, as the role API lists them (priority, then order written), from 0. */
      ruleIndex: z.number().int(),
      effect: z.enum(["allow", "deny"]),
      action: z.enum(["publish", "subscribe", "both"]),
      priority: z.number().int(),
      topicFilter: z.string(),
      /** The filter with `${clientid}` and `${username}` substituted, as evaluated. */
      expandedFilter: z.string(),
      via: z.object({ kind: z.enum(["device", "group"]), id: uuid, name: z.string() }),
    })
    .nullable(),
  reason: z.string(),
  /** The placeholder values the rules were evaluated with. */
  evaluatedAs: z.object({ clientId: z.string(), username: z.string() }),
});

// ---- API keys -------------------------------------------------------------------------------

export const createApiKey = z.object({ name, role: tenantRole, expiresAt: isoDate.optional() }).strict();
export const createPlatformApiKey = z.object({ name, expiresAt: isoDate.optional() }).strict();
export const apiKey = z.object({
  id: uuid,
  name: z.string(),
  prefix: z.string(),
  role: tenantRole.nullable(),
  platformAdmin: z.boolean(),
  expiresAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
  revokedAt: isoDate.nullable(),
  createdAt: isoDate,
});
export const createdApiKey = apiKey.extend({ key: z.string() });

// ---- bridges ----------------------------------------------------------------------------------

export const createBridge = z
  .object({
    name,
    /**
     * No user:password here: the URL is stored, listed and audited in the clear.
     * Bridge credentials, when the bridging runtime needs them, get a secret field of their own.
     */
    remoteUrl: z
      .url({ protocol: /^(mqtts?|wss?)$/, hostname: /./ })
      .max(1000)
      .refine((u) => URL.canParse(u) && new URL(u).username === "" && new URL(u).password === "", "must not contain credentials (user:password@)"),
    direction: z.enum(["in", "out", "both"]),
    localFilter: ruleTopicFilter,
    remotePrefix: z.string().max(1024).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export const updateBridge = createBridge.partial().strict();
export const bridge = z.object({
  id: uuid,
  name: z.string(),
  remoteUrl: z.string(),
  direction: z.enum(["in", "out", "both"]),
  localFilter: z.string(),
  remotePrefix: z.string().nullable(),
  enabled: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

/** What the bridge runtime reports for one bridge (this broker process's view). */
export const bridgeStatus = z.object({
  /**
   * connecting: (re)trying the remote; error: the remote refused us or the configuration cannot run (see lastError);
   * standby: another broker process sharing the database runs this bridge (this one takes over if that one goes away).
   */
  state: z.enum(["connected", "connecting", "disabled", "error", "standby"]),
  lastError: z.string().optional(),
  /** Messages delivered to the remote (acknowledged, for QoS 1) since this process started the bridge. */
  forwardedOut: z.number().int(),
  /** Messages from the remote published into the tenant. */
  forwardedIn: z.number().int(),
  /** Messages dropped: buffer full, QoS 0 while the remote is unreachable, expired, or not a valid local topic. */
  dropped: z.number().int(),
  /** Out messages waiting for the remote (buffered or unacknowledged). */
  buffered: z.number().int(),
  /** When the state last changed. */
  since: isoDate,
});

// ---- audit ---------------------------------------------------------------------------------------

export const auditEvent = z.object({
  id: z.string(),
  at: isoDate,
  actor: z.string(),
  tenantId: uuid.nullable(),
  action: z.string(),
  resource: z.string(),
  resourceId: z.string().nullable(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export const auditListQuery = pageQuery
  .extend({ resource: z.string().max(100).optional(), actor: z.string().max(100).optional(), since: isoDate.optional() })
  .strict();

// ---- session ------------------------------------------------------------------------------------

export const localLogin = z.object({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) }).strict();
export const tokenResponse = z.object({ accessToken: z.string(), tokenType: z.literal("Bearer"), expiresIn: z.number().int() });
export const me = z.object({
  kind: z.enum(["user", "client", "apikey"]),
  subject: z.string(),
  displayName: z.string().nullable(),
  platformAdmin: z.boolean(),
  tenants: z.array(z.object({ slug, role: tenantRole })),
});
