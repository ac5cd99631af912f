/**
 * `npm run bench` — MQTT broker benchmark runner.
 *
 * Starts each selected broker in turn (pinned to core 0), runs every scenario
 * against it with a load generator child process (pinned to core 1), then
 * prints a comparison table (ratios against Mosquitto) and writes the raw
 * results to bench/results/<timestamp>.json.
 */

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BENCH_SRC,
  BROKER_CORE,
  GEN_CORE,
  LAUNCHERS,
  REPO_ROOT,
  tailFile,
  type BrokerInstance,
  type LaunchOptions,
} from "./brokers/index.ts";
import {
  allProcessTicks,
  coreBusyPct,
  coreTimes,
  foreignCpu,
  installCleanupHandlers,
  rssAnonKiB,
  spawnPinned,
  stableTreeRssKiB,
  stopChild,
  treeCpuSeconds,
} from "./procs.ts";
import { USAGE, buildScenarios, parseOptions, type Options } from "./options.ts";
import {
  LEGEND,
  buildNotes,
  buildRows,
  durabilityRatios,
  renderDurabilityRatios,
  renderTable,
  summarize,
  type CpuUse,
  type Outcome,
  type RunRecord,
} from "./report.ts";
import type {
  BrokerName,
  GenMessage,
  GenResult,
  IdleGenResult,
  IdleScenario,
  LoadJob,
  RunnerMessage,
  Scenario,
} from "./types.ts";

// ---- generator processes ------------------------------------------------------------

const LOADGEN = join(BENCH_SRC, "loadgen", "main.ts");
let tagCounter = 0;

function newTag(): string {
  // Short and unique per generator process: client ids must stay <= 23 chars.
  return `b${(tagCounter++).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

interface GenHandle {
  send(msg: RunnerMessage): void;
  kill(): Promise<void>;
  result: Promise<GenResult>;
}

function startGenerator(
  broker: BrokerInstance,
  job: Omit<LoadJob, "host" | "port" | "tag">,
  timeoutMs: number,
  onMessage: (m: GenMessage) => void = () => {},
): GenHandle {
  const fullJob: LoadJob = { ...job, host: broker.host, port: broker.port, tag: newTag() };
  const child = spawnPinned(GEN_CORE, process.execPath, ["--import", "tsx", LOADGEN, JSON.stringify(fullJob)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const result = new Promise<GenResult>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      void stopChild(child, 500);
      reject(new Error(`load generator timed out after ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.on("message", (m: GenMessage) => {
      if (m.type === "result" && !done) {
        done = true;
        clearTimeout(timer);
        resolve(m.result);
      } else if (m.type === "error" && !done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`load generator: ${m.message}`));
      } else {
        onMessage(m);
      }
    });
    child.once("error", (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`load generator exited (${signal ?? `code ${code}`}) without a result`));
    });
  });
  return {
    send: (msg) => {
      if (child.connected) child.send(msg);
    },
    kill: () => stopChild(child, 500),
    result,
  };
}

// ---- scenario runners ------------------------------------------------------------------

async function runLoadScenario(broker: BrokerInstance, sc: Scenario): Promise<Outcome> {
  if (sc.kind === "idle") throw new Error("idle scenario needs runIdleScenario");
  let cpu0 = 0;
  let t0 = 0;
  let cores0 = coreTimes();
  let procs0 = new Map<number, number>();
  const cpu: CpuUse = {
    brokerCpuPct: NaN,
    brokerCoreBusyPct: NaN,
    genCoreBusyPct: NaN,
    otherProcsCpuPct: NaN,
    otherProcsTop: [],
  };
  const markStart = (): void => {
    procs0 = allProcessTicks();
    cpu0 = treeCpuSeconds(broker.pid);
    cores0 = coreTimes();
    t0 = performance.now();
  };
  const markEnd = (): void => {
    const cores1 = coreTimes();
    const elapsedMs = performance.now() - t0;
    cpu.brokerCpuPct = ((treeCpuSeconds(broker.pid) - cpu0) / (elapsedMs / 1000)) * 100;
    cpu.brokerCoreBusyPct = coreBusyPct(cores0, cores1, BROKER_CORE);
    cpu.genCoreBusyPct = coreBusyPct(cores0, cores1, GEN_CORE);
    const foreign = foreignCpu(procs0, allProcessTicks(), elapsedMs);
    cpu.otherProcsCpuPct = foreign.pct;
    cpu.otherProcsTop = foreign.top;
  };

  if (sc.kind === "throughput") {
    const timeout = sc.warmupMs + sc.measureMs + sc.drainMs + 60_000;
    const gen = await startGenerator(broker, { scenario: sc }, timeout, (m) => {
      if (m.type === "measure-start") markStart();
      else if (m.type === "measure-end") markEnd();
    }).result;
    if (gen.kind !== "throughput") throw new Error("unexpected generator result");
    return { status: "ok", kind: "throughput", gen, ...cpu };
  }

  // Connection rate: the generator measures the whole run; sample broker CPU around it.
  markStart();
  const gen = await startGenerator(broker, { scenario: sc }, 180_000).result;
  markEnd();
  if (gen.kind !== "connrate") throw new Error("unexpected generator result");
  return { status: "ok", kind: "connrate", gen, ...cpu };
}

/** Start generator processes holding `total` idle connections between them. */
function openIdle(
  broker: BrokerInstance,
  sc: IdleScenario,
  total: number,
): { gens: GenHandle[]; ready: Promise<void> } {
  const procs = Math.max(1, Math.ceil(total / sc.perProcess));
  const share = (k: number): number => Math.floor(total / procs) + (k < total % procs ? 1 : 0);
  const gens: GenHandle[] = [];
  const readies: Promise<void>[] = [];
  for (let k = 0; k < procs; k++) {
    let markReady!: () => void;
    readies.push(new Promise<void>((r) => (markReady = r)));
    gens.push(
      startGenerator(broker, { scenario: sc, connections: share(k) }, 300_000, (m) => {
        if (m.type === "ready") markReady();
      }),
    );
  }
  // A generator that fails before "ready" must not leave the caller waiting forever.
  const ready = Promise.race([Promise.all(readies), Promise.all(gens.map((g) => g.result))]).then(() => {});
  return { gens, ready };
}

async function closeIdle(gens: GenHandle[]): Promise<IdleGenResult[]> {
  for (const g of gens) g.send({ type: "close" });
  const results = await Promise.all(gens.map((g) => g.result));
  return results.filter((r): r is IdleGenResult => r.kind === "idle");
}

const RSS_STABLE_MAX_MS = 10_000;

/**
 * Memory per idle connection on a fresh broker: baseline RSS (once stable),
 * open the first half of the connections, settle, read RSS, open the second
 * half, settle, read RSS again. Reported: (after - before) / N, and the
 * marginal cost over the second half, (after - mid) / (N/2), which is robust
 * against one-off startup memory that a GC-managed broker only releases once
 * load arrives.
 */
async function runIdleScenario(broker: BrokerInstance, sc: IdleScenario): Promise<Outcome> {
  const before = await stableTreeRssKiB(broker.pid, RSS_STABLE_MAX_MS);
  const rssAnonBeforeKiB = rssAnonKiB(broker.pid);

  const firstHalf = Math.floor(sc.connections / 2);
  const gens: GenHandle[] = [];
  let mid: { kib: number; stable: boolean };
  let after: { kib: number; stable: boolean };
  let rssAnonAfterKiB: number;
  let generators: IdleGenResult[];
  try {
    const a = openIdle(broker, sc, firstHalf);
    gens.push(...a.gens);
    await a.ready;
    await sleep(sc.settleMs);
    mid = await stableTreeRssKiB(broker.pid, RSS_STABLE_MAX_MS);
    const b = openIdle(broker, sc, sc.connections - firstHalf);
    gens.push(...b.gens);
    await b.ready;
    await sleep(sc.settleMs);
    after = await stableTreeRssKiB(broker.pid, RSS_STABLE_MAX_MS);
    rssAnonAfterKiB = rssAnonKiB(broker.pid);
    generators = await closeIdle(gens);
  } catch (err) {
    await Promise.all(gens.map((g) => g.kill()));
    throw err;
  }
  const connected = generators.reduce((s, r) => s + r.connected, 0);
  const failed = generators.reduce((s, r) => s + r.failed, 0);
  const droppedWhileIdle = generators.reduce((s, r) => s + r.droppedWhileIdle, 0);
  const secondHalfConnected = connected - Math.min(connected, firstHalf);
  return {
    status: "ok",
    kind: "idle",
    generators,
    connected,
    failed,
    droppedWhileIdle,
    rssBeforeKiB: before.kib,
    rssMidKiB: mid.kib,
    rssAfterKiB: after.kib,
    rssStable: before.stable && mid.stable && after.stable,
    rssAnonBeforeKiB,
    rssAnonAfterKiB,
    kibPerConn: connected > 0 ? (after.kib - before.kib) / connected : NaN,
    kibPerConnMarginal: secondHalfConnected > 0 ? (after.kib - mid.kib) / secondHalfConnected : NaN,
  };
}

// ---- orchestration ---------------------------------------------------------------------

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

function fdLimit(): string {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? `soft ${m[1]}, hard ${m[2]}` : "unknown";
  } catch {
    return "unknown";
  }
}

async function runBroker(
  name: BrokerName,
  round: number,
  scenarios: Scenario[],
  launchOpts: (name: BrokerName) => LaunchOptions,
  records: RunRecord[],
): Promise<string | null> {
  const launcher = LAUNCHERS[name];
  let instance: BrokerInstance | null = null;
  let startError: string | null = null;

  const start = async (): Promise<BrokerInstance> => {
    const inst = await launcher.start(launchOpts(name));
    log(`${name}: pid ${inst.pid} listening on ${inst.host}:${inst.port}`);
    return inst;
  };

  try {
    for (const sc of scenarios) {
      const t = performance.now();
      let outcome: Outcome;
      try {
        if (sc.kind === "idle") {
          // Fresh broker so earlier load does not pollute the memory baseline.
          if (instance) await instance.stop();
          instance = null;
          instance = await start();
          outcome = await runIdleScenario(instance, sc);
        } else {
          if (instance && !instance.alive()) {
            log(`${name}: broker process died; restarting (log: ${instance.logPath})`);
            instance = null;
          }
          instance ??= await start();
          outcome = await runLoadScenario(instance, sc);
        }
      } catch (err) {
        outcome = { status: "failed", error: errorMessage(err) };
        if (instance && !instance.alive()) {
          outcome.error += `\n  (broker exited; last log lines:\n${tailFile(instance.logPath, 10)})`;
        }
        if (/failed to start/.test(outcome.error)) startError = outcome.error;
      }
      records.push({ broker: name, round, scenario: sc, outcome });
      const tag = round > 0 || launchRounds > 1 ? ` (round ${round + 1})` : "";
      log(`${name} / ${sc.id}${tag}: ${summarize(outcome)}  [${((performance.now() - t) / 1000).toFixed(1)} s]`);
      if (startError) {
        // The broker cannot start: mark the remaining scenarios without retrying each.
        for (const rest of scenarios.slice(scenarios.indexOf(sc) + 1)) {
          records.push({
            broker: name,
            round,
            scenario: rest,
            outcome: { status: "failed", error: "broker did not start" },
          });
        }
        break;
      }
    }
  } finally {
    if (instance) await instance.stop();
  }
  return startError;
}

// ---- main ---------------------------------------------------------------------------

/** Rounds of this run (for progress output). */
let launchRounds = 1;

async function main(): Promise<void> {
  installCleanupHandlers();
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${errorMessage(err)}\n\n${USAGE}`);
    process.exit(64);
  }
  const scenarios = buildScenarios(opts);
  const startedAt = new Date();
  const t0 = performance.now();
  const workRoot = mkdtempSync(join(os.tmpdir(), "halyard-bench-"));
  chmodSync(workRoot, 0o755); // mosquitto drops root privileges and must reach its data dir
  let keepWorkRoot = opts.keepLogs;
  process.on("exit", () => {
    if (!keepWorkRoot) rmSync(workRoot, { recursive: true, force: true });
  });
  let instanceCounter = 0;
  const launchOpts = (name: BrokerName): LaunchOptions => {
    const workDir = join(workRoot, `${name}-${instanceCounter++}`);
    mkdirSync(workDir, { recursive: true });
    return { workDir, mosquittoPersistence: opts.mosquittoPersistence };
  };

  const cpus = os.cpus();
  log(
    `brokers: ${opts.brokers.join(", ")}; scenarios: ${scenarios.map((s) => s.id).join(", ")}; ` +
      `warm-up ${opts.warmupS} s, measure ${opts.durationS} s; broker on core 0, generator on core ${GEN_CORE}` +
      (opts.repeat > 1 ? `; ${opts.repeat} rounds` : ""),
  );
  if (cpus.length < 2) log("WARNING: fewer than 2 CPUs; broker and generator will share a core");
  const idle = scenarios.find((s): s is IdleScenario => s.kind === "idle");
  const fdNote = idle
    ? `idle-mem uses ${idle.connections} connections, not 20000: every process is limited to ${fdLimit()} open files ` +
      `(RLIMIT_NOFILE), and the broker needs one fd per client plus its own listeners/files, so exactly 20k clients ` +
      `cannot be held by one broker process. Client sockets are spread over ` +
      `${Math.max(1, Math.ceil(idle.connections / idle.perProcess))} generator process(es) (max ${idle.perProcess} each).`
    : null;
  if (fdNote) log(fdNote);

  const brokerInfo: Record<string, { describe: string; error?: string }> = {};
  const records: RunRecord[] = [];
  launchRounds = opts.repeat;
  // Rounds are interleaved (A B C A B C ...) so slow drifts in machine load hit every broker alike.
  for (let round = 0; round < opts.repeat; round++) {
    if (opts.repeat > 1) log(`--- round ${round + 1} of ${opts.repeat}`);
    for (const name of opts.brokers) {
      if (brokerInfo[name]?.error) continue; // it did not start in an earlier round
      const describe = LAUNCHERS[name].describe({ workDir: workRoot, mosquittoPersistence: opts.mosquittoPersistence });
      brokerInfo[name] = { describe };
      log(`=== ${describe}`);
      const err = await runBroker(name, round, scenarios, launchOpts, records);
      if (err) {
        brokerInfo[name].error = err;
        log(err);
      }
    }
  }
  const elapsedS = (performance.now() - t0) / 1000;

  // ---- report ----
  const rows = buildRows(scenarios, opts.brokers, records);
  console.log("");
  console.log(
    `MQTT broker benchmark — payload ${opts.payload} B, warm-up ${opts.warmupS} s, measure ${opts.durationS} s, ` +
      `windows: QoS0 ${opts.window}, QoS1 ${opts.windowQos1}, fan-out ${opts.windowFanout}` +
      (opts.repeat > 1 ? `; ${opts.repeat} interleaved rounds, each cell = that broker's median run` : ""),
  );
  for (const b of opts.brokers) console.log(`  ${b}: ${brokerInfo[b]?.describe ?? ""}`);
  console.log("");
  console.log(renderTable(rows, opts.brokers));
  console.log("");
  const ratios = durabilityRatios(scenarios, records);
  if (ratios.length > 0) {
    for (const line of renderDurabilityRatios(ratios)) console.log(line);
    console.log("");
  }
  console.log(LEGEND);
  if (fdNote) console.log(`Note: ${fdNote}`);

  const notes = buildNotes(records, { mosquittoPersistence: opts.mosquittoPersistence });
  if (notes.length > 0) {
    console.log("\nNotes:");
    for (const n of notes) console.log(`  - ${n}`);
  }

  const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));
  const outPath = opts.out ?? join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(join(outPath, ".."), { recursive: true });
  writeFileSync(
    outPath,
    JSON.stringify(
      {
        version: 1,
        startedAt: startedAt.toISOString(),
        elapsedS,
        host: {
          cpu: cpus[0]?.model ?? "unknown",
          cpus: cpus.length,
          node: process.version,
          kernel: os.release(),
          fdLimit: fdLimit(),
        },
        options: opts,
        brokers: brokerInfo,
        durabilityRatios: ratios,
        results: records,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nRaw results: ${outPath}  (total ${elapsedS.toFixed(0)} s)`);

  const failed = records.some((r) => r.outcome.status === "failed");
  keepWorkRoot ||= failed;
  if (keepWorkRoot) console.log(`Broker configs and logs kept in ${workRoot}`);
  process.exitCode = failed ? 1 : 0;
}

await main();
