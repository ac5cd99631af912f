import { Module, type DynamicModule } from "@nestjs/common";
import type { Logger } from "pino";
import type { HalyardConfig } from "./config/config.ts";
import { CONFIG } from "./config/config.ts";
import { HealthController } from "./health/health.controller.ts";
import { LOGGER } from "./logger/logger.ts";
import { MqttService } from "./mqtt/mqtt.service.ts";

@Module({})
export class AppModule {
  static forRoot(config: HalyardConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [{ provide: CONFIG, useValue: config }, { provide: LOGGER, useValue: logger }, MqttService],
      exports: [MqttService],
    };
  }
}
