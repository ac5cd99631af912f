import { startBroker, type RunningBroker } from "./bootstrap.ts";
import { ConfigError, loadConfig, type HalyardConfig } from "./config/config.ts";
import { createLogger, maskUrlCredentials } from "./logger/logger.ts";
import { RuntimeConfigService } from "./modules/admin/runtime-config.service.ts";

/**
 * The broker process. Signals:
 * - SIGTERM, SIGINT: graceful shutdown (see startBroker): exit 0 once clients
 *   are disconnected and state is flushed, 1 if that takes longer than
 *   HALYARD_SHUTDOWN_TIMEOUT_MS or fails. A signal during start-up shuts down
 *   as soon as the start completes.
 * - SIGHUP: re-read the configuration and apply what needs no restart (as
 *   `POST /api/v1/admin/config/reload`).
 */
function readConfig(): HalyardConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`halyard: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel, config.logPretty ?? process.stdout.isTTY);

  /** Set once started; signals may come before. */
  const state: { running?: RunningBroker } = {};
  let stopping: string | undefined;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = signal;
    logger.info({ signal }, "shutting down");
    // Read now: a reload may have changed it.
    const timeoutMs = config.shutdownTimeoutMs;
    setTimeout(() => {
      logger.error({ timeoutMs }, "shutdown timed out; exiting");
      process.exit(1);
    }, timeoutMs);
    if (state.running) finish(state.running);
  };
  const finish = (broker: RunningBroker) => {
    broker.close().then(
      () => {
        logger.info("shutdown complete");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => {
    const running = state.running;
    if (!running || stopping) {
      logger.warn("SIGHUP ignored: the broker is not running");
      return;
    }
    void running.app.get(RuntimeConfigService).reloadFromSignal("SIGHUP");
  });

  const running = (state.running = await startBroker(config, logger));
  logger.info({ ports: running.ports }, "halyard broker started");
  if (stopping) finish(running);
}

main().catch((err: unknown) => {
  process.stderr.write(`halyard: failed to start: ${maskUrlCredentials((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
