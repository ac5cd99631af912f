import { Module } from "@nestjs/common";
import { ConnectionLog } from "./connection-log.ts";
import { MonitoringController, PlatformStatsController } from "./monitoring.controller.ts";
import { MonitoringRepository } from "./monitoring.repository.ts";
import { MonitoringService } from "./monitoring.service.ts";
import { StatsRecorder } from "./stats-recorder.ts";

/**
 * Broker monitoring for the console: live per-tenant and platform traffic
 * (JSON and Server-Sent Events), minute series in Postgres, connected
 * clients, retained messages and the connection log.
 */
@Module({
  controllers: [MonitoringController, PlatformStatsController],
  providers: [MonitoringRepository, StatsRecorder, ConnectionLog, MonitoringService],
  exports: [StatsRecorder, ConnectionLog],
})
export class MonitoringModule {}
