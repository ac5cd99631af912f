import { Module } from "@nestjs/common";
import { AuthoritiesModule } from "../authorities/authorities.module.ts";
import { DevicesModule } from "../devices/devices.module.ts";
import { CertificatesController } from "./certificates.controller.ts";
import { CertificatesRepository } from "./certificates.repository.ts";
import { CertificatesService } from "./certificates.service.ts";

@Module({ imports: [DevicesModule, AuthoritiesModule], controllers: [CertificatesController], providers: [CertificatesRepository, CertificatesService] })
export class CertificatesModule {}
