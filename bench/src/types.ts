/** Types shared by the runner (run.ts) and the load generator process. */

import type { LatencySummary } from "./stats.ts";

/**
 * Broker variants: `halyard` is the default configuration (LMDB store, fsync
 * durability); `halyard-memory` and `halyard-commit` are the same broker with
 * HALYARD_STORE=memory / HALYARD_DURABILITY=commit.
 */
export type BrokerName = "halyard" | "halyard-memory" | "halyard-commit" | "mosquitto" | "aedes";

export type Topology = "fanin" | "pairs" | "fanout";

export interface ThroughputScenario {
  kind: "throughput";
  id: string;
  title: string;
  topology: Topology;
  publishers: number;
  subscribers: number;
  qos: 0 | 1;
  /**
   * Subscribers connect with clean session = false (fixed client ids), so
   * every message is routed to a persistent session. The generator removes
   * those sessions again after the run (reconnect with clean = true).
   */
  persistentSubscribers: boolean;
  /** First topic level(s): scenarios with persistent sessions use their own topics. */
  topicPrefix: string;
  payloadSize: number;
  /** Max messages a publisher may have outstanding (closed-loop window). */
  window: number;
  warmupMs: number;
  measureMs: number;
  /** After the measurement, wait at most this long for in-flight messages. */
  drainMs: number;
  /** A publisher without progress for this long declares its in-flight messages lost. */
  stallMs: number;
}

export interface ConnRateScenario {
  kind: "connrate";
  id: string;
  title: string;
  /** Connections made in total, including `warmup` unmeasured ones. */
  total: number;
  warmup: number;
  concurrency: number;
}

export interface IdleScenario {
  kind: "idle";
  id: string;
  title: string;
  /** Total idle connections across all generator processes. */
  connections: number;
  /** Max connections held by one generator process. */
  perProcess: number;
  concurrency: number;
  settleMs: number;
}

export type Scenario = ThroughputScenario | ConnRateScenario | IdleScenario;

/** What the runner hands to one load generator process (argv[2], JSON). */
export interface LoadJob {
  host: string;
  port: number;
  /** Unique per generator process; used in client ids. */
  tag: string;
  scenario: Scenario;
  /** For idle: how many connections this process opens. */
  connections?: number;
}

export interface ThroughputResult {
  kind: "throughput";
  /** Deliveries (PUBLISH received by subscribers) inside the measurement window. */
  delivered: number;
  measuredMs: number;
  msgsPerSec: number;
  /** PUBLISH packets sent by publishers inside the measurement window. */
  publishedInWindow: number;
  /** Total PUBLISH packets sent over the whole run (warm-up + measure). */
  publishedTotal: number;
  /** Expected deliveries that never arrived (sequence gaps + timeouts + drain leftovers). */
  lost: number;
  /** Deliveries arriving out of order / after being declared lost / duplicates. */
  late: number;
  /** QoS 1 only: PUBLISHes never PUBACKed by the broker. */
  missingPubacks: number;
  /** Connections closed by the broker during the run. */
  disconnects: number;
  /** PUBLISH frames that were not ours (e.g. too short or unknown publisher). */
  unexpected: number;
  latency: LatencySummary;
  /**
   * QoS 1 only: PUBLISH sent -> PUBACK received by the publisher, i.e. how
   * long the broker took to take responsibility for the message (with a
   * durable store: including the fsync). null for QoS 0.
   */
  pubackLatency: LatencySummary | null;
  /** CPU used by the generator during the measurement window, % of one core. */
  generatorCpuPct: number;
  /**
   * Persistent-subscriber scenarios: how many subscriber sessions the broker
   * reported present (CONNACK session present = 1) when the subscriber
   * reconnected after the run, proving the sessions were persistent; and how
   * many were removed again by a clean-session connect. null otherwise.
   */
  sessionCheck: { subscribers: number; present: number; removed: number; error?: string } | null;
}

export interface ConnRateResult {
  kind: "connrate";
  measured: number;
  measuredMs: number;
  connsPerSec: number;
  failed: number;
  /** TCP connect start -> CONNACK received. */
  latency: LatencySummary;
  generatorCpuPct: number;
}

export interface IdleGenResult {
  kind: "idle";
  connected: number;
  failed: number;
  /** Connections the broker closed while they were supposed to be idle. */
  droppedWhileIdle: number;
  connectMs: number;
}

export type GenResult = ThroughputResult | ConnRateResult | IdleGenResult;

/** Messages from a generator to the runner (over the IPC channel). */
export type GenMessage =
  | { type: "measure-start" }
  | { type: "measure-end" }
  | { type: "ready"; connected: number; failed: number; connectMs: number }
  | { type: "result"; result: GenResult }
  | { type: "error"; message: string };

/** Messages from the runner to a generator. */
export type RunnerMessage = { type: "close" };
