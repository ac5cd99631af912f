import type { BrokerName } from "../types.ts";
import { aedes } from "./aedes.ts";
import type { BrokerLauncher } from "./common.ts";
import { halyard } from "./halyard.ts";
import { mosquitto } from "./mosquitto.ts";

export const LAUNCHERS: Record<BrokerName, BrokerLauncher> = { halyard, mosquitto, aedes };
export const ALL_BROKERS: BrokerName[] = ["halyard", "mosquitto", "aedes"];

export type { BrokerInstance, BrokerLauncher, LaunchOptions } from "./common.ts";
export { BROKER_CORE, GEN_CORE, HOST, REPO_ROOT, BENCH_SRC, tailFile } from "./common.ts";

