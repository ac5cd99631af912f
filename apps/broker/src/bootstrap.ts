import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import type { Logger } from "pino";
import { AppModule } from "./app.module.ts";
import { ProblemFilter } from "./common/problem.filter.ts";
import { requestId } from "./common/request-id.ts";
import type { HalyardConfig } from "./config/config.ts";
import { MqttService } from "./mqtt/mqtt.service.ts";

export interface RunningBroker {
  app: NestExpressApplication;
  ports: Record<string, number>;
  close(): Promise<void>;
}

/** Builds and starts the whole broker (database, API, MQTT listeners); main.ts and the tests both use it. */
export async function startBroker(config: HalyardConfig, logger: Logger): Promise<RunningBroker> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: ["error", "warn"],
    bodyParser: false,
  });
  app.useBodyParser("json", { limit: config.apiBodyLimit });
  app.use(requestId);
  app.useGlobalFilters(new ProblemFilter(logger));
  await app.listen(config.httpPort, config.host);
  const http = (app.getHttpServer().address() as AddressInfo).port;
  return { app, ports: { ...app.get(MqttService).ports, http }, close: () => app.close() };
}
