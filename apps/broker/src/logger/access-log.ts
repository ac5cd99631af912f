import type { NextFunction, Request, Response } from "express";
import type { Logger } from "pino";

/**
 * One log line per admin API request, when it is answered: method, path
 * (never the query string), status, duration, request id, the caller's audit
 * identity and, on tenant routes, the `tenant`. Changes (POST, PUT, PATCH,
 * DELETE) and server errors log at `info`/`warn`; reads, probes and scrapes at
 * `debug`. Headers and bodies are not logged.
 */
export function accessLog(logger: Logger) {
  return (req: Request & { id?: string; principal?: { actor: string } }, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on("finish", () => {
      const write = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
      const level = res.statusCode >= 500 ? "warn" : write ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      const path = req.originalUrl.split("?")[0] ?? "";
      const tenant = /^\/api\/v1\/tenants\/([a-z0-9-]+)/.exec(path)?.[1];
      logger.child({ ...(tenant ? { tenant } : {}), requestId: req.id })[level](
        {
          method: req.method,
          path,
          status: res.statusCode,
          durationMs: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
          ...(req.principal ? { actor: req.principal.actor } : {}),
        },
        "http request",
      );
    });
    next();
  };
}
