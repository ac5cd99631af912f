import { z } from "zod";

/**
 * Runtime administration of a broker process (platform administrators): the
 * log level and configuration reload without a restart. Each answer is that
 * of the process that served the request.
 */

export const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export const setLogLevel = z.object({ level: logLevel }).strict();
export const logLevelState = z.object({ level: logLevel });

/** A setting's value as configured (numbers, strings, booleans; unset is null). */
const settingValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** The settings a reload can change, with their values now in effect. */
export const runtimeConfig = z.object({ settings: z.record(z.string(), settingValue) });

export const configReloadResult = z.object({
  /** Settings whose new value now applies, with that value. */
  applied: z.record(z.string(), settingValue),
  /** Settings whose value changed but that apply only after a restart (listeners, storage, database, secrets, ...); not applied. */
  restartRequired: z.array(z.string()),
});
