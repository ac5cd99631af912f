import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";

/**
 * Structured JSON logs (pino). Secrets never reach them: known secret fields
 * are redacted wherever they appear, and credentials inside URLs
 * (`postgres://user:password@host`) are masked in error messages and stacks.
 * The level can change while running (`PUT /api/v1/admin/log-level`, or a
 * configuration reload): code logs through the root logger or children made
 * at the time of logging, which follow the root's level.
 */

/** Paths never written to logs, whatever object they appear in. */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "*.headers.authorization",
  "headers.cookie",
  "*.headers.cookie",
  "apiKey",
  "*.apiKey",
  "privateKey",
  "*.privateKey",
  "accessToken",
  "*.accessToken",
  "refreshToken",
  "*.refreshToken",
  "clientSecret",
  "*.clientSecret",
  "secretKey",
  "*.secretKey",
  "adminPassword",
  "*.adminPassword",
  "databaseUrl",
  "*.databaseUrl",
  "connectionString",
  "*.connectionString",
];

/** `scheme://user:password@` -> `scheme://user:[redacted]@`. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@/?#\s]+@/gi;

export function maskUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1[redacted]@");
}

/** pino's error serializer, with URL credentials masked in the message and stack. */
function errSerializer(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (!out || typeof out !== "object") return out;
  for (const key of ["message", "stack"]) if (typeof out[key] === "string") out[key] = maskUrlCredentials(out[key]);
  return out;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { service: "halyard-broker" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: errSerializer },
  };
}

/** One logger factory: JSON in production, pretty when asked (development); `destination` for tests. */
export function createLogger(level: string, pretty = false, destination?: DestinationStream): Logger {
  if (destination) return pino(loggerOptions(level), destination);
  return pino({
    ...loggerOptions(level),
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

export const LOGGER = Symbol("Logger");

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
