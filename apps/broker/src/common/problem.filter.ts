import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from "@nestjs/common";
import type { Problem } from "@halyard/api-contract";
import type { Request, Response } from "express";
import type { Logger } from "pino";
import { ProblemException } from "./problem.ts";

const TYPE = "https://halyard.dev/problems/";

/** Prisma error codes that are the client's doing, with the status they mean. */
const PRISMA_CLIENT_ERRORS: Record<string, [number, string]> = {
  P2002: [409, "A resource with the same unique value already exists."],
  P2025: [404, "The resource does not exist."],
  P2003: [409, "The resource is referenced by, or references, something that does not allow this change."],
};

/**
 * Renders every error as application/problem+json. Unexpected errors become a
 * bare 500 whose details go to the log (with the request id), never to the
 * client; a database that cannot be reached becomes 503.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request & { id?: string }>();
    const problem = this.toProblem(error, req);
    problem.instance ??= req.originalUrl;
    res.status(problem.status).type("application/problem+json").json(problem);
  }

  private toProblem(error: unknown, req: Request & { id?: string }): Problem {
    if (error instanceof ProblemException) return { ...error.problem };
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && PRISMA_CLIENT_ERRORS[code]) {
      const [status, detail] = PRISMA_CLIENT_ERRORS[code];
      return { type: TYPE + (status === 404 ? "not-found" : "conflict"), title: status === 404 ? "Not found" : "Conflict", status, detail };
    }
    if (isDatabaseDown(error)) {
      this.logger.error({ err: error, requestId: req.id }, "database unavailable");
      return { type: TYPE + "unavailable", title: "Service unavailable", status: 503, detail: "The database cannot be reached; try again shortly." };
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      const body = error.getResponse();
      const detail = typeof body === "string" ? body : ((body as { message?: unknown }).message as string | undefined);
      return { type: TYPE + `http-${status}`, title: error.name.replace(/Exception$/, "") || "Error", status, detail: Array.isArray(detail) ? detail.join("; ") : detail };
    }
    const status = (error as { status?: unknown; type?: unknown }).status;
    if (typeof status === "number" && status >= 400 && status < 500) {
      // body-parser errors: entity.too.large, entity.parse.failed, ...
      const title = status === 413 ? "Payload too large" : "Bad request";
      return { type: TYPE + `http-${status}`, title, status, detail: (error as Error).message };
    }
    this.logger.error({ err: error, requestId: req.id }, "unhandled error in admin API");
    return { type: TYPE + "internal", title: "Internal server error", status: 500, detail: "The error was logged." };
  }
}

function isDatabaseDown(error: unknown): boolean {
  const text = `${(error as { code?: unknown }).code ?? ""} ${(error as Error)?.message ?? ""}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|P1001|P1002|P1017|Connection terminated|DatabaseNotReachable|terminating connection/i.test(text);
}
