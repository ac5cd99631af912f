import { Controller, Get, Inject, Res } from "@nestjs/common";
import type { Response } from "express";
import { Public } from "../modules/auth/auth.guard.ts";
import { MqttService } from "../mqtt/mqtt.service.ts";
import { Readiness, type ReadinessStatus } from "./readiness.ts";

/** Bodies of /health/ready; the same while starting (bootstrap answers it then). */
export function readinessBody(status: ReadinessStatus, readiness: Readiness, mqtt?: MqttService): Record<string, unknown> {
  return {
    status,
    since: readiness.changedAt.toISOString(),
    ...(mqtt ? { listeners: mqtt.ports, connections: mqtt.broker.stats.connections } : {}),
  };
}

/**
 * Liveness: the process answers HTTP (restart it when it does not).
 * Readiness: send it traffic; 200 `{status:"ready"}` only when the listeners
 * accept and the database answers, else 503 with `status` one of starting,
 * migrating, database-unavailable, draining (see Readiness).
 */
@Public()
@Controller("health")
export class HealthController {
  constructor(
    @Inject(MqttService) private readonly mqtt: MqttService,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  @Get("live")
  live() {
    return { status: "ok" };
  }

  @Get("ready")
  async ready(@Res() res: Response): Promise<void> {
    const status = await this.readiness.check();
    res.status(status === "ready" ? 200 : 503).json(readinessBody(status, this.readiness, this.mqtt));
  }
}
