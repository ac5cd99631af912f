import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { ApiKeysService } from "./api-keys.service.ts";

type Page = z.infer<typeof pageQuery>;

/** A tenant's keys; tenant admins. DELETE revokes. */
@Controller("api/v1/tenants/:tenant/api-keys")
export class TenantApiKeysController {
  constructor(@Inject(ApiKeysService) private readonly keys: ApiKeysService) {}

  @Doc({ summary: "List the tenant's API keys (prefixes only)", tag: "API keys", query: pageQuery, response: page(schemas.apiKey), access: "tenant_admin" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: Page) {
    return this.keys.listTenant(p, tenant, q);
  }

  @Doc({ summary: "Create a tenant API key, role at most your own; the key is in this response only", tag: "API keys", body: schemas.createApiKey, response: schemas.createdApiKey, access: "tenant_admin" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createApiKey)) body: z.infer<typeof schemas.createApiKey>,
    @RequestId() rid?: string,
  ) {
    return this.keys.createTenant(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a tenant API key (prefix only)", tag: "API keys", response: schemas.apiKey, access: "tenant_admin" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.keys.getTenant(p, tenant, id);
  }

  @Doc({ summary: "Revoke a tenant API key (kept, for the audit trail)", tag: "API keys", access: "tenant_admin" })
  @Delete(":id")
  @HttpCode(204)
  revoke(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.keys.revokeTenant(p, tenant, id, rid);
  }
}

/** Platform-wide keys (platform administrators); platform admins only. DELETE revokes. */
@Controller("api/v1/api-keys")
export class PlatformApiKeysController {
  constructor(@Inject(ApiKeysService) private readonly keys: ApiKeysService) {}

  @Doc({ summary: "List platform API keys (prefixes only)", tag: "API keys", query: pageQuery, response: page(schemas.apiKey), access: "platform_admin" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Query(new ZodPipe(pageQuery)) q: Page) {
    return this.keys.listPlatform(p, q);
  }

  @Doc({ summary: "Create a platform API key (a platform administrator); the key is in this response only", tag: "API keys", body: schemas.createPlatformApiKey, response: schemas.createdApiKey, access: "platform_admin" })
  @Post()
  create(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(schemas.createPlatformApiKey)) body: z.infer<typeof schemas.createPlatformApiKey>, @RequestId() rid?: string) {
    return this.keys.createPlatform(p, body, rid);
  }

  @Doc({ summary: "Get a platform API key (prefix only)", tag: "API keys", response: schemas.apiKey, access: "platform_admin" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("id", idPipe) id: string) {
    return this.keys.getPlatform(p, id);
  }

  @Doc({ summary: "Revoke a platform API key (kept, for the audit trail)", tag: "API keys", access: "platform_admin" })
  @Delete(":id")
  @HttpCode(204)
  revoke(@CurrentPrincipal() p: Principal, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.keys.revokePlatform(p, id, rid);
  }
}
