import { Global, Module, type DynamicModule } from "@nestjs/common";
import type { Logger } from "pino";
import { PlatformKeys } from "./common/platform-keys.ts";
import { CONFIG, type HalyardConfig } from "./config/config.ts";
import { LOGGER } from "./logger/logger.ts";

/** Configuration, logger and platform keys, available to every module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: HalyardConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: PlatformKeys, useValue: PlatformKeys.load({ secretKey: config.secretKey, dataDir: config.dataDir }) },
      ],
      exports: [CONFIG, LOGGER, PlatformKeys],
    };
  }
}
