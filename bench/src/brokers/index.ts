import type { BrokerName } from "../types.ts";
import { aedes } from "./aedes.ts";
import type { BrokerLauncher } from "./common.ts";
import { halyard, halyardCommit, halyardMemory } from "./halyard.ts";
import { mosquitto } from "./mosquitto.ts";

export const LAUNCHERS: Record<BrokerName, BrokerLauncher> = {
  halyard,
  "halyard-memory": halyardMemory,
  "halyard-commit": halyardCommit,
  mosquitto,
  aedes,
};
/** Every name `--brokers` accepts. */
export const KNOWN_BROKERS: BrokerName[] = ["halyard", "halyard-memory", "halyard-commit", "mosquitto", "aedes"];
/** The default run. */
export const DEFAULT_BROKERS: BrokerName[] = ["halyard", "mosquitto", "aedes"];
/** `--durability`: Halyard durable vs in memory vs commit-only, and Mosquitto (persistence on). */
export const DURABILITY_BROKERS: BrokerName[] = ["halyard", "halyard-memory", "halyard-commit", "mosquitto"];

export type { BrokerInstance, BrokerLauncher, LaunchOptions } from "./common.ts";
export { BROKER_CORE, GEN_CORE, HOST, REPO_ROOT, BENCH_SRC, tailFile } from "./common.ts";

