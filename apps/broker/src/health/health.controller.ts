import { Controller, Get, HttpException, HttpStatus, Inject } from "@nestjs/common";
import { Public } from "../modules/auth/auth.guard.ts";
import { DatabaseService } from "../modules/database/database.service.ts";
import { MqttService } from "../mqtt/mqtt.service.ts";

/** Liveness: the process answers. Readiness: listeners accept and the database answers. */
@Public()
@Controller("health")
export class HealthController {
  constructor(
    @Inject(MqttService) private readonly mqtt: MqttService,
    @Inject(DatabaseService) private readonly database: DatabaseService,
  ) {}

  @Get("live")
  live() {
    return { status: "ok" };
  }

  @Get("ready")
  async ready() {
    if (!this.mqtt.isReady) throw new HttpException({ status: "starting" }, HttpStatus.SERVICE_UNAVAILABLE);
    if (!(await this.database.ping())) throw new HttpException({ status: "database-unavailable" }, HttpStatus.SERVICE_UNAVAILABLE);
    const stats = this.mqtt.broker.stats;
    return { status: "ready", listeners: this.mqtt.ports, connections: stats.connections };
  }
}
