import { Controller, Get, HttpException, HttpStatus, Inject } from "@nestjs/common";
import { MqttService } from "../mqtt/mqtt.service.ts";

/** Liveness: the process answers. Readiness: listeners are accepting. */
@Controller("health")
export class HealthController {
  constructor(@Inject(MqttService) private readonly mqtt: MqttService) {}

  @Get("live")
  live() {
    return { status: "ok" };
  }

  @Get("ready")
  ready() {
    if (!this.mqtt.isReady) throw new HttpException({ status: "starting" }, HttpStatus.SERVICE_UNAVAILABLE);
    const stats = this.mqtt.broker.stats;
    return { status: "ready", listeners: this.mqtt.ports, connections: stats.connections };
  }
}
