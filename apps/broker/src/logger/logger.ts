import pino, { type Logger } from "pino";

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
  "apiKey",
  "*.apiKey",
  "privateKey",
  "*.privateKey",
];

/** One logger factory: JSON in production, pretty when asked (development). */
export function createLogger(level: string, pretty = false): Logger {
  return pino({
    level,
    base: { service: "halyard-broker" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

export const LOGGER = Symbol("Logger");
