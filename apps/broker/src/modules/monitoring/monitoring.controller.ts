import { Controller, Delete, Get, HttpCode, Inject, Param, Query, Res } from "@nestjs/common";
import { monitoring, page } from "@halyard/api-contract";
import type { Response } from "express";
import type { z } from "zod";
import { ZodPipe } from "../../common/zod.pipe.ts";
import { Doc } from "../../openapi/doc.decorator.ts";
import { CurrentPrincipal, RequestId } from "../auth/auth.guard.ts";
import type { Principal } from "../auth/principal.ts";
import { slugPipe } from "../tenants/tenants.controller.ts";
import { MonitoringService } from "./monitoring.service.ts";

const clientIdPipe = new ZodPipe(monitoring.clientIdParam);

/**
 * Live view of a tenant for the console: traffic (snapshot, event stream,
 * minute series), connected clients, retained messages and the connection
 * log. Viewers read; operators disconnect clients and clear retained messages.
 */
@Controller("api/v1/tenants/:tenant")
export class MonitoringController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  @Doc({ summary: "Current traffic snapshot of the tenant (rates over the last ~5 s, totals since the broker started)", tag: "Monitoring", response: monitoring.tenantStats, access: "tenant_viewer" })
  @Get("stats")
  stats(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string) {
    return this.monitoring.stats(p, tenant);
  }

  @Doc({
    summary: "Server-Sent Events: a `stats` event (the snapshot as JSON) every second, a heartbeat comment every 15 s",
    tag: "Monitoring",
    response: monitoring.tenantStats,
    produces: "text/event-stream",
    access: "tenant_viewer",
  })
  @Get("stats/stream")
  async stream(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Res() res: Response) {
    await this.monitoring.streamStats(p, tenant, res);
  }

  @Doc({ summary: "Per-minute traffic of the last hour or day, including the minute in progress", tag: "Monitoring", query: monitoring.statsSeriesQuery, response: monitoring.statsSeries, access: "tenant_viewer" })
  @Get("stats/series")
  series(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(monitoring.statsSeriesQuery)) q: z.infer<typeof monitoring.statsSeriesQuery>,
  ) {
    return this.monitoring.series(p, tenant, q.range);
  }

  @Doc({ summary: "Connected MQTT clients of the tenant (search in client id and username)", tag: "Monitoring", query: monitoring.clientListQuery, response: page(monitoring.connectedClient), access: "tenant_viewer" })
  @Get("clients")
  clients(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(monitoring.clientListQuery)) q: z.infer<typeof monitoring.clientListQuery>,
  ) {
    return this.monitoring.clients(p, tenant, q);
  }

  @Doc({ summary: "One connected client", tag: "Monitoring", response: monitoring.connectedClient, access: "tenant_viewer" })
  @Get("clients/:clientId")
  client(@CurrentPrincipal() p: Principal, @Param("tenant", slugPipe) tenant: string, @Param("clientId", clientIdPipe) clientId: string) {
    return this.monitoring.client(p, tenant, clientId);
  }

  @Doc({ summary: "Disconnect a connected client (MQTT 5: DISCONNECT 0x98 Administrative action)", tag: "Monitoring", access: "tenant_operator" })
  @Delete("clients/:clientId")
  @HttpCode(204)
  disconnect(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Param("clientId", clientIdPipe) clientId: string,
    @RequestId() rid?: string,
  ) {
    return this.monitoring.disconnect(p, tenant, clientId, rid);
  }

  @Doc({ summary: "Retained messages of the tenant matching a topic filter, sorted by topic", tag: "Monitoring", query: monitoring.retainedQuery, response: monitoring.retainedList, access: "tenant_viewer" })
  @Get("retained")
  retained(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(monitoring.retainedQuery)) q: z.infer<typeof monitoring.retainedQuery>,
  ) {
    return this.monitoring.retained(p, tenant, q);
  }

  @Doc({ summary: "Clear the retained message of one topic", tag: "Monitoring", query: monitoring.retainedDeleteQuery, access: "tenant_operator" })
  @Delete("retained")
  @HttpCode(204)
  clearRetained(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(monitoring.retainedDeleteQuery)) q: z.infer<typeof monitoring.retainedDeleteQuery>,
    @RequestId() rid?: string,
  ) {
    return this.monitoring.clearRetained(p, tenant, q.topic, rid);
  }

  @Doc({ summary: "Connection log of the tenant (connects, disconnects, refused logins, kicks), newest first", tag: "Monitoring", query: monitoring.connectionEventQuery, response: page(monitoring.connectionEvent), access: "tenant_viewer" })
  @Get("events")
  events(
    @CurrentPrincipal() p: Principal,
    @Param("tenant", slugPipe) tenant: string,
    @Query(new ZodPipe(monitoring.connectionEventQuery)) q: z.infer<typeof monitoring.connectionEventQuery>,
  ) {
    return this.monitoring.events(p, tenant, q);
  }
}

/** Broker-wide figures for platform administrators. */
@Controller("api/v1/platform")
export class PlatformStatsController {
  constructor(@Inject(MonitoringService) private readonly monitoring: MonitoringService) {}

  @Doc({ summary: "Broker-wide traffic snapshot with per-tenant connections and rates", tag: "Monitoring", response: monitoring.platformStats, access: "platform_admin" })
  @Get("stats")
  stats(@CurrentPrincipal() p: Principal) {
    return this.monitoring.platformStats(p);
  }

  @Doc({
    summary: "Server-Sent Events: a `stats` event (the platform snapshot as JSON) every second, a heartbeat comment every 15 s",
    tag: "Monitoring",
    response: monitoring.platformStats,
    produces: "text/event-stream",
    access: "platform_admin",
  })
  @Get("stats/stream")
  stream(@CurrentPrincipal() p: Principal, @Res() res: Response) {
    this.monitoring.streamPlatformStats(p, res);
  }
}
