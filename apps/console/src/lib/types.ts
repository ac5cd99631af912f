import type { z } from "zod";
import type { monitoring, schemas } from "@halyard/api-contract";

/** Response shapes of the admin API, inferred from the same zod schemas the broker validates with. */
export type Tenant = z.infer<typeof schemas.tenant>;
export type TenantQuotas = z.infer<typeof schemas.tenantQuotas>;
export type Device = z.infer<typeof schemas.device> & { connected?: boolean; connectedClients?: number };
export type Group = z.infer<typeof schemas.group>;
export type Credential = z.infer<typeof schemas.credential>;
export type CreatedCredential = z.infer<typeof schemas.createdCredential>;
export type Authority = z.infer<typeof schemas.authority>;
export type Certificate = z.infer<typeof schemas.certificate>;
export type IssuedCertificate = z.infer<typeof schemas.issuedCertificate>;
export type Role = z.infer<typeof schemas.role>;
export type TopicRule = z.infer<typeof schemas.topicRule>;
export type Binding = z.infer<typeof schemas.binding>;
export type AuditEvent = z.infer<typeof schemas.auditEvent>;
export type Membership = z.infer<typeof schemas.membership>;
export type ApiKey = z.infer<typeof schemas.apiKey>;

/** Live monitoring (dashboards). */
export type TenantStats = monitoring.TenantStats;
export type StatsPoint = monitoring.StatsPoint;
export type PlatformStats = monitoring.PlatformStats;

/** MQTT bridges to remote brokers. */
export type Bridge = z.infer<typeof schemas.bridge>;
export type BridgeStatus = z.infer<typeof schemas.bridgeStatus>;
