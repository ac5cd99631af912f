import { Inject, Injectable, RequestMethod } from "@nestjs/common";
import { PATH_METADATA, METHOD_METADATA } from "@nestjs/common/constants.js";
import { DiscoveryService, MetadataScanner, Reflector } from "@nestjs/core";
import { problem } from "@halyard/api-contract";
import { z } from "zod";
import { DOC, type RouteDoc } from "./doc.decorator.ts";

export interface DiscoveredRoute {
  method: string;
  path: string;
  doc: RouteDoc | undefined;
}

const METHODS: Record<number, string> = {
  [RequestMethod.GET]: "get",
  [RequestMethod.POST]: "post",
  [RequestMethod.PUT]: "put",
  [RequestMethod.PATCH]: "patch",
  [RequestMethod.DELETE]: "delete",
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): unknown {
  return z.toJSONSchema(schema, { io, unrepresentable: "any", target: "openapi-3.0" });
}

/**
 * Builds the OpenAPI 3 document from the routes Nest registered and their
 * @Doc metadata, so the document cannot list a route that does not exist
 * or miss one that does (a test fails on any undocumented route).
 */
@Injectable()
export class OpenApiService {
  private cached: unknown;

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  routes(): DiscoveredRoute[] {
    const out: DiscoveredRoute[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      if (!instance) continue;
      const base = String(this.reflector.get<string>(PATH_METADATA, wrapper.metatype as never) ?? "");
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
      for (const name of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[name] as object;
        const sub = this.reflector.get<string | undefined>(PATH_METADATA, handler as never);
        const method = this.reflector.get<number | undefined>(METHOD_METADATA, handler as never);
        if (sub === undefined || method === undefined) continue;
        const path = ("/" + [base, sub].filter((s) => s && s !== "/").join("/")).replace(/\/+/g, "/").replace(/\/$/, "") || "/";
        out.push({ method: METHODS[method] ?? "get", path, doc: this.reflector.get<RouteDoc | undefined>(DOC, handler as never) });
      }
    }
    return out;
  }

  document(): unknown {
    if (this.cached) return this.cached;
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of this.routes()) {
      if (!route.doc) continue;
      const doc = route.doc;
      const oaPath = route.path.replace(/:([A-Za-z]+)/g, "{$1}");
      const params = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
        name: m[1],
        in: "path",
        required: true,
        schema: { type: "string", ...(m[1] === "tenant" ? { description: "tenant slug" } : m[1] === "clientId" ? { description: "MQTT client identifier" } : { format: "uuid" }) },
      }));
      const query = doc.query ? queryParams(doc.query) : [];
      const status = String(doc.status ?? (route.method === "post" ? 201 : route.method === "delete" ? 204 : 200));
      const responses: Record<string, unknown> = {
        [status]: doc.response
          ? { description: "OK", content: { [doc.produces ?? "application/json"]: { schema: jsonSchema(doc.response, "output") } } }
          : doc.produces
            ? { description: "OK", content: { [doc.produces]: { schema: { type: "string" } } } }
            : { description: "No content" },
        default: { description: "Problem (RFC 9457)", content: { "application/problem+json": { schema: jsonSchema(problem, "output") } } },
      };
      (paths[oaPath] ??= {})[route.method] = {
        summary: doc.summary,
        tags: [doc.tag],
        description: `Access: ${doc.access.replace(/_/g, " ")}.`,
        ...(doc.access === "public" ? { security: [] } : {}),
        parameters: [...params, ...query],
        ...(doc.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(doc.body, "input") } } } } : {}),
        responses,
      };
    }
    this.cached = {
      openapi: "3.0.3",
      info: {
        title: "Halyard admin API",
        version: "1",
        description:
          "Tenants, devices, credentials, certificates, roles and topic permissions. Authenticate with an OIDC access token (Keycloak), a local administrator session (POST /api/v1/auth/token) or an API key, as `Authorization: Bearer <token>`. Errors are RFC 9457 problem details.",
      },
      servers: [{ url: "/" }],
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
      paths,
    };
    return this.cached;
  }
}

function queryParams(schema: z.ZodType): unknown[] {
  const json = jsonSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: "query", required: json.required?.includes(name) ?? false, schema: s }));
}
