import { SetMetadata } from "@nestjs/common";
import type { TenantRole } from "@halyard/api-contract";
import type { z } from "zod";

export const DOC = "halyard:doc";

/** What a route's OpenAPI entry says; the schemas are the same zod objects the route validates with. */
export interface RouteDoc {
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodType;
  response?: z.ZodType;
  /** Response media type when not JSON (e.g. a PEM download). */
  produces?: string;
  status?: number;
  /** Least role that may call it; "platform_admin" or "public" where that is the rule. */
  access: TenantRole | "platform_admin" | "authenticated" | "public";
}

export const Doc = (doc: RouteDoc) => SetMetadata(DOC, doc);
