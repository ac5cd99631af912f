import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import type { AddressInfo } from "node:net";
import { AppModule } from "./app.module.ts";
import { ConfigError, loadConfig } from "./config/config.ts";
import { createLogger } from "./logger/logger.ts";
import { MqttService } from "./mqtt/mqtt.service.ts";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`halyard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, config.logPretty ?? process.stdout.isTTY);
  const app = await NestFactory.create(AppModule.forRoot(config, logger), { logger: ["error", "warn"] });
  await app.listen(config.httpPort, config.host);
  const http = (app.getHttpServer().address() as AddressInfo).port;
  const ports = { ...app.get(MqttService).ports, http };
  logger.info({ ports }, "halyard broker started");

  // Graceful shutdown: clients get DISCONNECT 0x8B, state is flushed, exit 0.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`halyard: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
