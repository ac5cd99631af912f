import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenApiService } from "../src/openapi/openapi.service.ts";
import { startApi, type Api } from "./api-harness.ts";

describe("OpenAPI document and docs page", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi("embedded");
  }, 60_000);
  afterAll(async () => api?.close());

  it("documents every /api/v1 route (no route is missing its @Doc)", () => {
    const routes = api.broker.app.get(OpenApiService).routes();
    const undocumented = routes.filter((r) => r.path.startsWith("/api/v1") && r.path !== "/api/v1/openapi.json" && !r.doc);
    expect(undocumented.map((r) => `${r.method.toUpperCase()} ${r.path}`)).toEqual([]);
    expect(routes.length).toBeGreaterThan(10);
  });

  it("is a valid OpenAPI 3 document, served without authentication", async () => {
    const r = await api.call("GET", "/api/v1/openapi.json");
    expect(r.status).toBe(200);
    const doc = await SwaggerParser.validate(structuredClone(r.body));
    expect(doc.info.title).toBe("Halyard admin API");
    const devices = r.body.paths["/api/v1/tenants/{tenant}/devices"];
    expect(Object.keys(devices).sort()).toEqual(["get", "post"]);
    expect(devices.post.requestBody.content["application/json"].schema.properties.clientId).toBeDefined();
    expect(devices.get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(["tenant", "page", "pageSize", "q", "tag"]));
  });

  it("serves the interactive docs page and its assets from the npm package", async () => {
    const page = await fetch(`${api.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("SwaggerUIBundle");
    const js = await fetch(`${api.url}/api/docs/assets/swagger-ui-bundle.js`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${api.url}/api/docs/assets/..%2F..%2Fpackage.json`)).status).toBe(404);
  });
});
