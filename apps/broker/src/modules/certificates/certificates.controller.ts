import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Res } from "@nestjs/common";
import { pageQuery, schemas } from "@halyard/api-contract";
import type { Response } from "express";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { sendPem } from "../authorities/authorities.controller.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { idPipe } from "../devices/devices.controller.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { CertificatesService } from "./certificates.service.ts";

@Controller("api/v1/tenants/:tenant/devices/:deviceId/certificates")
export class CertificatesController {
  constructor(@Inject(CertificatesService) private readonly certificates: CertificatesService) {}

  @Get()
  list(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("deviceId", idPipe) deviceId: string,
    @Query(new ZodPipe(pageQuery)) q: z.infer<typeof pageQuery>,
  ) {
    return this.certificates.list(p, tenant, deviceId, q);
  }

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

  @Get(":id")
  get(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("deviceId", idPipe) deviceId: string, @Param("id", idPipe) id: string) {
    return this.certificates.get(p, tenant, deviceId, id);
  }

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
