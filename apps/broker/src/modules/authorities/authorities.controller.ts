import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { Response } from "express";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { AuthoritiesService } from "./authorities.service.ts";

export const PEM_CONTENT_TYPE = "application/x-pem-file";

/** Serves a PEM as a download; the file name is the resource id, which needs no escaping. */
export function sendPem(res: Response, id: string, pem: string): string {
  res.setHeader("Content-Type", PEM_CONTENT_TYPE);
  res.setHeader("Content-Disposition", `attachment; filename="${id}.pem"`);
  return pem;
}

@Controller("api/v1/tenants/:tenant/authorities")
export class AuthoritiesController {
  constructor(@Inject(AuthoritiesService) private readonly authorities: AuthoritiesService) {}

  @Doc({ summary: "List the tenant's certificate authorities (never their private keys)", tag: "Certificate authorities", query: pageQuery, response: page(schemas.authority), access: "tenant_viewer" })
  @Get()
  list(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>) {
    return this.authorities.list(p, tenant, q);
  }

  @Doc({ summary: "Create a certificate authority; its private key is sealed and never returned", tag: "Certificate authorities", body: schemas.createAuthority, response: schemas.authority, access: "tenant_admin" })
  @Post()
  create(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Body(new ZodPipe(schemas.createAuthority)) body: z.infer<typeof schemas.createAuthority>,
    @RequestId() rid?: string,
  ) {
    return this.authorities.create(p, tenant, body, rid);
  }

  @Doc({ summary: "Get a certificate authority", tag: "Certificate authorities", response: schemas.authority, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string) {
    return this.authorities.get(p, tenant, id);
  }

  @Doc({ summary: "Download a certificate authority's certificate as PEM", tag: "Certificate authorities", produces: PEM_CONTENT_TYPE, access: "tenant_viewer" })
  @Get(":id/certificate.pem")
  async pem(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("id", idPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    const authority = await this.authorities.get(p, tenant, id);
    return sendPem(res, authority.id, authority.certificatePem);
  }

  @Doc({ summary: "Revoke a certificate authority (kept; it signs no more certificates)", tag: "Certificate authorities", response: schemas.authority, status: 200, access: "tenant_admin" })
  @Post(":id/revoke")
  @HttpCode(200)
  revoke(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("id", idPipe) id: string, @RequestId() rid?: string) {
    return this.authorities.revoke(p, tenant, id, rid);
  }
}
