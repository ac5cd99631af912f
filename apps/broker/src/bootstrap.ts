import "reflect-metadata";
import type { AddressInfo } from "node:net";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "pino";
import { AppModule } from "./app.module.ts";
import { ProblemFilter } from "./common/problem.filter.ts";
import { requestId } from "./common/request-id.ts";
import { loadConfig, type HalyardConfig } from "./config/config.ts";
import { readinessBody } from "./health/health.controller.ts";
import { Readiness } from "./health/readiness.ts";
import { accessLog } from "./logger/access-log.ts";
import { RuntimeConfigService } from "./modules/admin/runtime-config.service.ts";
import { MqttService } from "./mqtt/mqtt.service.ts";

export interface RunningBroker {
  app: NestExpressApplication;
  ports: Record<string, number>;
  readiness: Readiness;
  /** Graceful shutdown (see startBroker); resolves once everything is closed. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Builds and starts the whole broker (database, API, MQTT listeners); main.ts
 * and the tests both use it.
 *
 * Start-up: the HTTP listener opens first, so probes get an answer while the
 * rest starts (`/health/live` 200; `/health/ready` 503 "starting" or
 * "migrating"; every other route 503 until the API is up). Then the modules
 * start (database and migrations, state recovery, MQTT listeners) and
 * readiness follows the database from then on.
 *
 * Shutdown (`close`, SIGTERM/SIGINT in main.ts): readiness turns "draining"
 * (503) and the MQTT listeners stop accepting; after `shutdownDrainDelayMs`
 * clients are disconnected (v5: DISCONNECT 0x8B, or 0x9C with the configured
 * server reference), acks that wait for the store go out first and the store
 * is flushed and closed; then the HTTP listener closes (it answers probes
 * until then) and the database is closed.
 */
export interface StartOptions {
  /** How a configuration reload reads the configuration again; by default as main.ts did, from this process's environment. */
  reloadConfig?: () => HalyardConfig;
}

export async function startBroker(config: HalyardConfig, logger: Logger, options: StartOptions = {}): Promise<RunningBroker> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger), {
    logger: ["error", "warn"],
    bodyParser: false,
  });
  const readiness = app.get(Readiness);
  app.get(RuntimeConfigService).source = options.reloadConfig ?? (() => loadConfig(process.env));
  let started = false;
  app.useBodyParser("json", { limit: config.apiBodyLimit });
  app.use(requestId);
  app.use(accessLog(logger));
  app.use(startupGate(readiness, () => started));
  app.useGlobalFilters(new ProblemFilter(logger));

  const server = app.getHttpServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.httpPort, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const http = (server.address() as AddressInfo).port;
  logger.info({ port: http }, "http listener ready");
  try {
    await app.init();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  started = true;
  readiness.markStarted();
  await readiness.check();
  const mqtt = app.get(MqttService);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      readiness.markDraining();
      mqtt.stopAccepting();
      const delayMs = config.shutdownDrainDelayMs;
      if (delayMs > 0) {
        logger.info({ delayMs }, "draining: new MQTT connections refused; clients are disconnected after the delay");
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      await mqtt.shutdown();
      logger.info("mqtt clients disconnected and broker state flushed");
      await app.close();
      readiness.markStopped();
    })());
  return { app, ports: { ...mqtt.ports, http }, readiness, close };
}

/** Until every module has started: probes are answered here, everything else gets 503. */
function startupGate(readiness: Readiness, started: () => boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (started()) return next();
    if (req.path === "/health/live") {
      res.json({ status: "ok" });
      return;
    }
    if (req.path === "/health/ready") {
      void readiness.check().then((status) => res.status(503).json(readinessBody(status, readiness)));
      return;
    }
    res
      .status(503)
      .setHeader("retry-after", "5")
      .type("application/problem+json")
      .json({ type: "https://halyard.dev/problems/unavailable", title: "Service unavailable", status: 503, detail: "The broker is starting; try again shortly." });
  };
}
