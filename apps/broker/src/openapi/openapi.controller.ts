import { createRequire } from "node:module";
import path from "node:path";
import { Controller, Get, Header, Inject, Param, Res } from "@nestjs/common";
import type { Response } from "express";
import { Public } from "../modules/auth/auth.guard.ts";
import { problems } from "../common/problem.ts";
import { OpenApiService } from "./openapi.service.ts";

const swaggerDir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const ASSETS = new Set(["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"]);

/** The OpenAPI document and an interactive page (Swagger UI, served from the npm package, no CDN). */
@Public()
@Controller()
export class OpenApiController {
  constructor(@Inject(OpenApiService) private readonly openapi: OpenApiService) {}

  @Get("api/v1/openapi.json")
  document() {
    return this.openapi.document();
  }

  @Get("api/docs")
  @Header("content-type", "text/html; charset=utf-8")
  page() {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Halyard admin API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#ui", persistAuthorization: true });</script>
</body></html>`;
  }

  @Get("api/docs/assets/:file")
  asset(@Param("file") file: string, @Res() res: Response) {
    if (!ASSETS.has(file)) throw problems.notFound("Asset");
    res.sendFile(path.join(swaggerDir, file));
  }
}
