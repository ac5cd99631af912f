import { ReasonCode, type AuthenticateRequest, type AuthenticateResult, type BrokerHooks, type ClientInfo } from "@halyard/engine";
import type { Logger } from "pino";
import { Histogram } from "prom-client";
import { looksLikeJwt, splitUsername } from "../mqtt/tenancy/identity.ts";

/**
 * Wraps the broker's hooks (the tenancy layer) to time authentication and to
 * log connections, without touching the hot path: publish, subscribe and
 * delivery hooks are handed through as they are.
 *
 * Logs carry `tenant` and `clientId` (child loggers made per event, so a
 * log-level change applies at once). Connects and disconnects are `debug`
 * (a reconnect storm must not become a log storm at the default level);
 * refused logins are `info`, except refusals for too many failures, which
 * would repeat for every attempt of a flood. Passwords are never logged.
 */

export type AuthMethod = "certificate" | "token" | "password" | "anonymous";

/** `halyard_auth_duration_seconds{method,result}`: registered on the metrics registry by MetricsService. */
export function authDurationHistogram(): Histogram<"method" | "result"> {
  return new Histogram({
    name: "halyard_auth_duration_seconds",
    help: "Time to authenticate an MQTT CONNECT, by method (password, certificate, token, anonymous) and result (success, failure, error).",
    labelNames: ["method", "result"],
    // Cached verifications take microseconds, argon2id tens of milliseconds, an identity provider round trip more.
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
}

/** What the client presented, in the tenancy layer's order of precedence. */
export function authMethod(req: AuthenticateRequest): AuthMethod {
  if ((req.transport as { peerCertificate?: unknown }).peerCertificate) return "certificate";
  if (looksLikeJwt(req.password)) return "token";
  if (req.username !== undefined || req.password !== undefined) return "password";
  return "anonymous";
}

/** The tenant a client is in: its mount point without the slash (`_anonymous` for anonymous clients). */
export function tenantOf(client: ClientInfo): string | undefined {
  const slug = client.attributes.slug;
  if (typeof slug === "string") return slug;
  return client.mountPoint ? client.mountPoint.slice(0, -1) : undefined;
}

export interface ObservedHooksOptions {
  logger: Logger;
  authDuration: Histogram<"method" | "result">;
  /** Current username separator (it may change on a configuration reload). */
  usernameSeparator: () => string;
}

export function observeHooks(inner: BrokerHooks, opts: ObservedHooksOptions): Partial<BrokerHooks> {
  const { logger, authDuration } = opts;
  const pass = <K extends keyof BrokerHooks>(name: K): BrokerHooks[K] | undefined => {
    const fn = inner[name] as unknown;
    return typeof fn === "function" ? ((fn as (...a: unknown[]) => unknown).bind(inner) as BrokerHooks[K]) : undefined;
  };
  const connected = pass("onClientConnected");
  const disconnected = pass("onClientDisconnected");
  const clientLog = (client: ClientInfo) => logger.child({ tenant: tenantOf(client), clientId: client.clientId });

  const refused = (req: AuthenticateRequest, method: AuthMethod, result: Extract<AuthenticateResult, { ok: false }>) => {
    const level = result.reasonCode === ReasonCode.ConnectionRateExceeded ? "debug" : "info";
    if (!logger.isLevelEnabled(level)) return;
    const hint = splitUsername(req.username, opts.usernameSeparator());
    logger.child({ tenant: hint?.slug, clientId: req.clientId })[level](
      {
        username: req.username,
        remoteAddress: req.remoteAddress,
        method,
        reasonCode: result.reasonCode,
        ...(result.reasonString ? { reason: result.reasonString } : {}),
      },
      "mqtt connection refused",
    );
  };

  const hooks: Partial<BrokerHooks> = {
    authenticate(req) {
      const start = process.hrtime.bigint();
      const method = authMethod(req);
      const done = (result: AuthenticateResult): AuthenticateResult => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const outcome = result.ok ? "success" : result.reasonCode === ReasonCode.ServerUnavailable ? "error" : "failure";
        authDuration.observe({ method, result: outcome }, seconds);
        if (!result.ok) refused(req, method, result);
        return result;
      };
      const answer = inner.authenticate(req);
      return answer instanceof Promise ? answer.then(done) : done(answer);
    },
    onClientConnected(client) {
      connected?.(client);
      if (logger.isLevelEnabled("debug")) {
        clientLog(client).debug(
          { username: client.username, remoteAddress: client.remoteAddress, protocolVersion: client.protocolVersion },
          "mqtt client connected",
        );
      }
    },
    onClientDisconnected(client, reasonCode) {
      disconnected?.(client, reasonCode);
      if (logger.isLevelEnabled("debug")) clientLog(client).debug({ reasonCode }, "mqtt client disconnected");
    },
  };
  for (const name of ["authorizePublish", "authorizeSubscribe", "authorizeDeliver", "onMessagePublished", "onMessageDelivered", "onMessageDropped"] as const) {
    const fn = pass(name);
    if (fn) (hooks as Record<string, unknown>)[name] = fn;
  }
  return hooks;
}
