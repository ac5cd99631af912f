import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { CredentialsService } from "./credentials.service.ts";

@Controller("api/v1/tenants/:tenant/devices/:deviceId/credentials")
export class CredentialsController {
  constructor(@Inject(CredentialsService) private readonly credentials: CredentialsService) {}

  @Doc({ summary: "List a device's credentials (never their passwords)", tag: "Device credentials", query: pageQuery, response: page(schemas.credential), access: "tenant_viewer" })
  @Get()
  list(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>,
  ) {
    return this.credentials.list(p, tenant, deviceId, q);
  }

  @Doc({ summary: "Create a username/password credential; the password is in this response only", tag: "Device credentials", body: schemas.createCredential, response: schemas.createdCredential, access: "tenant_operator" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Body(new ZodPipe(schemas.createCredential)) body: z.infer<typeof schemas.createCredential>,
    @RequestId() rid?: string,
  ) {
    return this.credentials.create(p, tenant, deviceId, body, rid);
  }

  @Doc({ summary: "Get a credential (never its password)", tag: "Device credentials", response: schemas.credential, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("deviceId", idPipe) deviceId: string, @Param("id", idPipe) id: string) {
    return this.credentials.get(p, tenant, deviceId, id);
  }

  @Doc({ summary: "Enable, disable or set the expiry of a credential (an expiry now or past expires it at once and closes its connections)", tag: "Device credentials", body: schemas.updateCredential, response: schemas.credential, access: "tenant_operator" })
  @Patch(":id")
  update(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Param("id", idPipe) id: string,
    @Body(new ZodPipe(schemas.updateCredential)) body: z.infer<typeof schemas.updateCredential>,
    @RequestId() rid?: string,
  ) {
    return this.credentials.update(p, tenant, deviceId, id, body, rid);
  }

  @Doc({
    summary: "Rotate: a new generated password (in this response only); the old one stops working and connections that used it are closed",
    tag: "Device credentials",
    response: schemas.createdCredential,
    status: 200,
    access: "tenant_operator",
  })
  @Post(":id/rotate")
  @HttpCode(200)
  rotate(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Param("id", idPipe) id: string,
    @RequestId() rid?: string,
  ) {
    return this.credentials.rotate(p, tenant, deviceId, id, rid);
  }

  /** Revokes (the row is kept for the audit trail); see CredentialsService. */
  @Doc({ summary: "Revoke a credential (kept, disabled, for the audit trail)", tag: "Device credentials", access: "tenant_operator" })
  @Delete(":id")
  @HttpCode(204)
  revoke(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Param("id", idPipe) id: string,
    @RequestId() rid?: string,
  ) {
    return this.credentials.revoke(p, tenant, deviceId, id, rid);
  }
}
