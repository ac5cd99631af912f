import { startBroker } from "./bootstrap.ts";
import { ConfigError, loadConfig } from "./config/config.ts";
import { createLogger } from "./logger/logger.ts";

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
  const { ports, close } = await startBroker(config, logger);
  logger.info({ ports }, "halyard broker started");

  // Graceful shutdown: clients get DISCONNECT 0x8B, state is flushed, exit 0.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    close().then(
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
