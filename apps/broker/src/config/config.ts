import { readFileSync } from "node:fs";
import path from "node:path";
import type { RuntimeOptions } from "@halyard/engine";
import { z } from "zod";

/**
 * Configuration is read once at boot from `HALYARD_*` environment variables
 * and an optional JSON file (`HALYARD_CONFIG`), validated, and turned into
 * this typed object. Environment variables win over the file.
 */
const port = z.coerce.number().int().min(0, "must be 0 (any free port) or more").max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes");

const fields = z.object({
    host: z.string().min(1).default("0.0.0.0"),
    mqttPort: port.default(1883),
    wsPort: port.default(8083),
    wsPath: z.string().startsWith("/").default("/mqtt"),
    httpPort: port.default(8080),
    /** TLS listener; enabled when certFile and keyFile are set. */
    tlsPort: port.default(8883),
    wssPort: port.default(8084),
    tlsCertFile: z.string().optional(),
    tlsKeyFile: z.string().optional(),
    tlsCaFile: z.string().optional(),
    dataDir: z.string().min(1).default(".halyard-data"),
    /** Where broker state lives: "lmdb" (durable, in dataDir) or "memory" (lost on restart). */
    store: z.enum(["lmdb", "memory"]).default("lmdb"),
    /**
     * When a QoS 1/2 message counts as stored: "fsync" (flushed to disk: survives
     * a power cut), "commit" (committed: survives a process crash), "none" (acks
     * do not wait for the store).
     */
    durability: z.enum(["fsync", "commit", "none"]).default("fsync"),
    maxStoreBytes: positiveInt.default(4 * 1024 * 1024 * 1024),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    logPretty: bool.optional(),
    maxPacketSize: positiveInt.max(268435455).default(1024 * 1024),
    maxQueuedMessages: positiveInt.default(10_000),
    maxQueuedBytes: positiveInt.default(64 * 1024 * 1024),
    queueOverflow: z.enum(["drop-new", "drop-oldest"]).default("drop-new"),
    queueQos0Offline: bool.default(false),
    receiveMaximum: positiveInt.max(65535).default(1024),
    maxInflightOut: positiveInt.max(65535).default(1024),
    maxKeepAlive: z.coerce.number().int().min(0).max(65535).default(0),
    maxSessionExpiryInterval: z.coerce.number().int().min(0).max(0xffffffff).default(0xffffffff),
    topicAliasMaximum: z.coerce.number().int().min(0).max(65535).default(65535),
    maxRetainedMessages: positiveInt.default(1_000_000),
    /** Postgres for the control plane; unset = embedded Postgres (PGlite) in dataDir. Read from DATABASE_URL. */
    databaseUrl: z.string().startsWith("postgres").optional(),
    /** Master secret (64 hex chars or base64 of 32+ bytes); unset = generated into dataDir/secret.key. */
    secretKey: z.string().min(32).optional(),
    /** Local administrator, created on first start when no local user exists. */
    adminUsername: z.string().min(1).max(200).default("admin"),
    /** Unset = a password is generated and printed once at first start. */
    adminPassword: z.string().min(12, "use at least 12 characters").optional(),
    /** OIDC provider (Keycloak realm issuer, e.g. https://sso.example.com/realms/halyard); unset = local accounts only. */
    oidcIssuer: z.url().optional(),
    /** Audience the admin API requires in access tokens. */
    oidcAudience: z.string().min(1).default("halyard-api"),
    oidcJwksUri: z.url().optional(),
    /** Clients without credentials: "off", "local" (loopback only) or "on"; they get their own namespace. */
    anonymous: z.enum(["off", "local", "on"]).default("local"),
    /** Separator of `<username><sep><tenant>` MQTT usernames. */
    usernameSeparator: z.string().min(1).max(4).default("@"),
    /** TLS SNI `<tenant>.<sniDomain>` names the tenant; unset disables it. */
    sniDomain: z.string().min(1).optional(),
    /** Failed MQTT authentications per minute, per source address or username, before refusing outright. */
    maxAuthFailuresPerMinute: positiveInt.default(20),
    /** Seconds between $SYS topic updates; 0 turns $SYS off. */
    sysInterval: z.coerce.number().int().min(0).max(3600).default(10),
    /** Largest JSON body the admin API accepts. */
    apiBodyLimit: z.string().regex(/^\d+(kb|mb)$/).default("1mb"),
    /** Longest a graceful shutdown may take; past it the process exits with code 1. */
    shutdownTimeoutMs: positiveInt.max(600_000).default(10_000),
    /**
     * Pause between readiness turning "draining" and clients being
     * disconnected, so load balancers stop sending new clients first
     * (Kubernetes: a few seconds; 0 = none).
     */
    shutdownDrainDelayMs: z.coerce.number().int().min(0).max(600_000).default(0),
    /**
     * `host:port` of another server: at shutdown v5 clients get DISCONNECT
     * 0x9C (Use another server) with this Server Reference instead of 0x8B
     * (Server shutting down).
     */
    shutdownServerReference: z.string().min(1).max(1000).optional(),
});

export const configSchema = fields
  .strict()
  .superRefine((c, ctx) => {
    if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined)) {
      ctx.addIssue({ code: "custom", path: ["tlsCertFile"], message: "HALYARD_TLS_CERT_FILE and HALYARD_TLS_KEY_FILE go together" });
    }
  });

export type HalyardConfig = z.infer<typeof configSchema>;

export const CONFIG = Symbol("HalyardConfig");

/** `HALYARD_MQTT_PORT` -> `mqttPort`. */
function envKeyToField(key: string): string {
  return key
    .slice("HALYARD_".length)
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const fieldNames = new Set(Object.keys(fields.shape));

/**
 * Every environment variable the broker reads: `HALYARD_<FIELD>` for each
 * setting, `HALYARD_CONFIG` and `DATABASE_URL` (docker/compose.yaml is checked
 * against this list).
 */
export const configEnvNames: readonly string[] = [
  "DATABASE_URL",
  "HALYARD_CONFIG",
  ...[...fieldNames].map((f) => "HALYARD_" + f.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase()),
];

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HalyardConfig {
  let fromFile: Record<string, unknown> = {};
  const file = env.HALYARD_CONFIG;
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(path.resolve(file), "utf8")) as Record<string, unknown>;
    } catch (err) {
      // A JSON syntax error quotes the text around it, which may hold a secret: say only where.
      const reason = err instanceof SyntaxError ? `not valid JSON (${/position \d+/.exec(err.message)?.[0] ?? "syntax error"})` : (err as Error).message;
      throw new ConfigError(`HALYARD_CONFIG: cannot read ${file}: ${reason}`);
    }
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`HALYARD_CONFIG: ${file} must hold one JSON object`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  // DATABASE_URL is the name every Postgres tool and Prisma use; accept it as is.
  if (env.DATABASE_URL) fromEnv.databaseUrl = env.DATABASE_URL;
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("HALYARD_") || key === "HALYARD_CONFIG" || value === undefined) continue;
    const field = envKeyToField(key);
    if (!fieldNames.has(field)) unknown.push(key);
    else fromEnv[field] = value;
  }
  if (unknown.length > 0) throw new ConfigError(`unknown setting(s): ${unknown.join(", ")}`);
  const parsed = configSchema.safeParse({ ...fromFile, ...fromEnv });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const field = String(i.path[0] ?? "");
      const envName = "HALYARD_" + field.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase();
      return `  ${envName}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** Engine options a reload may change, by their (identical) configuration names. */
export const ENGINE_SETTINGS = [
  "maxPacketSize",
  "maxQueuedMessages",
  "maxQueuedBytes",
  "queueOverflow",
  "queueQos0Offline",
  "receiveMaximum",
  "maxInflightOut",
  "maxKeepAlive",
  "maxSessionExpiryInterval",
  "topicAliasMaximum",
  "maxRetainedMessages",
] as const satisfies readonly (keyof RuntimeOptions & keyof HalyardConfig)[];

/** Tenancy (authentication) options a reload may change. */
export const TENANCY_SETTINGS = ["anonymous", "usernameSeparator", "sniDomain", "maxAuthFailuresPerMinute"] as const satisfies readonly (keyof HalyardConfig)[];

/**
 * Settings a configuration reload (SIGHUP, `POST /api/v1/admin/config/reload`)
 * applies to the running process. Everything else (ports, host, data
 * directory, store, database, secrets, OIDC, ...) is fixed at boot: a change
 * there is reported as needing a restart and not applied.
 */
export const RELOADABLE_SETTINGS = [
  "logLevel",
  ...ENGINE_SETTINGS,
  ...TENANCY_SETTINGS,
  "sysInterval",
  "tlsCertFile",
  "tlsKeyFile",
  "tlsCaFile",
  "shutdownTimeoutMs",
  "shutdownDrainDelayMs",
  "shutdownServerReference",
] as const satisfies readonly (keyof HalyardConfig)[];

export type ReloadableSetting = (typeof RELOADABLE_SETTINGS)[number];

const TLS_FILES = ["tlsCertFile", "tlsKeyFile", "tlsCaFile"] as const;

export interface ConfigChanges {
  /** Reloadable settings whose value changed, with the new values. */
  apply: Partial<Pick<HalyardConfig, ReloadableSetting>>;
  /** Settings whose value changed but that only take effect after a restart. */
  restartRequired: (keyof HalyardConfig)[];
}

/**
 * What a reload would change. TLS file names are reloadable only while TLS
 * stays on: turning it on or off opens or closes listeners, so needs a restart.
 */
export function compareConfig(current: HalyardConfig, next: HalyardConfig): ConfigChanges {
  const apply: Record<string, unknown> = {};
  const restartRequired: (keyof HalyardConfig)[] = [];
  const reloadable = new Set<string>(RELOADABLE_SETTINGS);
  const tlsToggled = (current.tlsCertFile === undefined) !== (next.tlsCertFile === undefined);
  const keys = new Set([...Object.keys(current), ...Object.keys(next)] as (keyof HalyardConfig)[]);
  for (const key of keys) {
    if (current[key] === next[key]) continue;
    if (reloadable.has(key) && !(tlsToggled && (TLS_FILES as readonly string[]).includes(key))) apply[key] = next[key];
    else restartRequired.push(key);
  }
  return { apply: apply as ConfigChanges["apply"], restartRequired: restartRequired.sort() };
}
