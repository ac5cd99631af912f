import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from "@nestjs/common";
import { page, pageQuery, schemas } from "@halyard/api-contract";
import type { Response } from "express";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { PEM_CONTENT_TYPE, sendPem } from "../authorities/authorities.controller.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { CertificatesService } from "./certificates.service.ts";

@Controller("api/v1/tenants/:tenant/devices/:deviceId/certificates")
export class CertificatesController {
  constructor(@Inject(CertificatesService) private readonly certificates: CertificatesService) {}

  @Doc({ summary: "List a device's certificates", tag: "Device certificates", query: pageQuery, response: page(schemas.certificate), access: "tenant_viewer" })
  @Get()
  list(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>,
  ) {
    return this.certificates.list(p, tenant, deviceId, q);
  }

  @Doc({ summary: "Issue a device certificate from a CSR, or with a generated key pair whose private key is in this response only", tag: "Device certificates", body: schemas.issueCertificate, response: schemas.issuedCertificate, access: "tenant_operator" })
  @Post()
  issue(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Body(new ZodPipe(schemas.issueCertificate)) body: z.infer<typeof schemas.issueCertificate>,
    @RequestId() rid?: string,
  ) {
    return this.certificates.issue(p, tenant, deviceId, body, rid);
  }

  @Doc({ summary: "Get a device certificate", tag: "Device certificates", response: schemas.certificate, access: "tenant_viewer" })
  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("deviceId", idPipe) deviceId: string, @Param("id", idPipe) id: string) {
    return this.certificates.get(p, tenant, deviceId, id);
  }

  @Doc({ summary: "Download a device certificate as PEM", tag: "Device certificates", produces: PEM_CONTENT_TYPE, access: "tenant_viewer" })
  @Get(":id/certificate.pem")
  async pem(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Param("id", idPipe) id: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    const certificate = await this.certificates.get(p, tenant, deviceId, id);
    return sendPem(res, certificate.id, certificate.certificatePem);
  }

  @Doc({ summary: "Revoke a device certificate (kept, with its reason)", tag: "Device certificates", body: schemas.revokeCertificate, response: schemas.certificate, status: 200, access: "tenant_operator" })
  @Post(":id/revoke")
  @HttpCode(200)
  revoke(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Param("id", idPipe) id: string,
    @Body(new ZodPipe(schemas.revokeCertificate)) body: z.infer<typeof schemas.revokeCertificate>,
    @RequestId() rid?: string,
  ) {
    return this.certificates.revoke(p, tenant, deviceId, id, body, rid);
  }
}
