import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

/** Correlates a request across logs, audit records and the client: X-Request-Id in, or a new one. */
export function requestId(req: Request & { id?: string }, res: Response, next: NextFunction): void {
  const given = req.headers["x-request-id"];
  req.id = typeof given === "string" && /^[\w.-]{1,100}$/.test(given) ? given : randomUUID();
  res.setHeader("X-Request-Id", req.id);
  next();
}
