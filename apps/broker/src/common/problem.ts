import { HttpException } from "@nestjs/common";
import type { Problem } from "@halyard/api-contract";

/**
 * Errors of the admin API are RFC 9457 problem details. Throw these from
 * services; ProblemFilter renders them (and everything else) as
 * application/problem+json.
 */
export class ProblemException extends HttpException {
  constructor(readonly problem: Problem) {
    super(problem, problem.status);
  }
}

const TYPE = "https://halyard.dev/problems/";

export const problems = {
  badRequest: (detail: string, errors?: Problem["errors"]) =>
    new ProblemException({ type: TYPE + "validation", title: "Invalid request", status: 400, detail, ...(errors ? { errors } : {}) }),
  unauthorized: (detail = "A valid bearer token or API key is required.") =>
    new ProblemException({ type: TYPE + "unauthorized", title: "Unauthorized", status: 401, detail }),
  forbidden: (detail: string) => new ProblemException({ type: TYPE + "forbidden", title: "Forbidden", status: 403, detail }),
  notFound: (what: string) => new ProblemException({ type: TYPE + "not-found", title: "Not found", status: 404, detail: `${what} not found.` }),
  conflict: (detail: string) => new ProblemException({ type: TYPE + "conflict", title: "Conflict", status: 409, detail }),
  unavailable: (detail: string) =>
    new ProblemException({ type: TYPE + "unavailable", title: "Service unavailable", status: 503, detail }),
};
