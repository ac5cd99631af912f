/**
 * Child-process bookkeeping for the runner: spawning pinned processes,
 * guaranteed cleanup (normal exit, error, SIGINT/SIGTERM), and /proc
 * readings (RSS, CPU time) for a process and its descendants.
 */

import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import net from "node:net";

/** Every child is started in its own process group so the whole group can be killed. */
const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Spawn `cmd args` pinned to `core` (taskset execs, so the pid is the command's pid). */
export function spawnPinned(core: number, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn("taskset", ["-c", String(core), cmd, ...args], { ...opts, detached: true });
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
  return child;
}

/** SIGTERM the child's process group, SIGKILL it if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  // Grandchildren (e.g. a shell-wrapped entry) may outlive the leader.
  killGroup(child, "SIGKILL");
}

export function killAllNow(): void {
  for (const c of live) killGroup(c, "SIGKILL");
  live.clear();
}

let handlersInstalled = false;

/** Make sure no child survives the runner, however it ends. */
export function installCleanupHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllNow);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n[bench] ${sig}: stopping ${live.size} child process(es)\n`);
      killAllNow();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
  process.on("uncaughtException", (err) => {
    process.stderr.write(`[bench] uncaught exception: ${err.stack ?? String(err)}\n`);
    killAllNow();
    process.exit(1);
  });
  process.on("unhandledRejection", (err) => {
    process.stderr.write(`[bench] unhandled rejection: ${err instanceof Error ? err.stack : String(err)}\n`);
    killAllNow();
    process.exit(1);
  });
}

// ---- ports ------------------------------------------------------------------

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Poll until `host:port` accepts TCP. Rejects on timeout or if `child`
 * exits first.
 */
export async function waitForPort(host: string, port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (code ${child.exitCode ?? child.signalCode}) before listening on ${host}:${port}`);
    }
    if (await tryConnect(host, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing accepted TCP connections on ${host}:${port} within ${timeoutMs / 1000} s`);
}

// ---- /proc readings ------------------------------------------------------------

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    } catch {
      /* task vanished */
    }
  }
  return out;
}

/** pid plus all its descendants that are still alive. */
export function processTree(pid: number): number[] {
  const all: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    all.push(p);
    stack.push(...childrenOf(p));
  }
  return all;
}

/** VmRSS in KiB of one process (0 if it is gone). */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Summed VmRSS (KiB) of a process tree. */
export function treeRssKiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssKiB(p), 0);
}

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks

/** utime + stime (seconds) of a process tree. */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the parenthesised command name; utime/stime are fields 14/15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      /* gone */
    }
  }
  return ticks / CLK_TCK;
}

/** Per-core [busy, total] jiffies from /proc/stat (busy = everything but idle/iowait). */
export function coreTimes(): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest times are already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    out.set(Number(m[1]), [total - idle, total]);
  }
  return out;
}

/** Busy % of `core` between two coreTimes() samples. */
export function coreBusyPct(a: Map<number, [number, number]>, b: Map<number, [number, number]>, core: number): number {
  const x = a.get(core);
  const y = b.get(core);
  if (!x || !y || y[1] === x[1]) return NaN;
  return ((y[0] - x[0]) / (y[1] - x[1])) * 100;
}

/** utime+stime ticks of every userland process (kernel threads excluded). */
export function allProcessTicks(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const pid = Number(name);
      const ppid = Number(f[1]);
      if (pid === 2 || ppid === 2) continue; // kthreadd and kernel threads
      out.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

export interface ForeignCpu {
  /** Total, % of one core. */
  pct: number;
  /** Biggest consumers, e.g. "1234 vitest 45%". */
  top: string[];
}

/**
 * CPU (% of one core) used between two allProcessTicks() samples by processes
 * that are not the runner or its descendants — i.e. interference from
 * whatever else runs on the machine.
 */
export function foreignCpu(a: Map<number, number>, b: Map<number, number>, elapsedMs: number): ForeignCpu {
  const ours = new Set(processTree(process.pid));
  const scale = 100 / CLK_TCK / (elapsedMs / 1000);
  let ticks = 0;
  const users: [number, number][] = [];
  for (const [pid, t1] of b) {
    if (ours.has(pid)) continue;
    // A process that appeared during the window used all of its ticks in it.
    const d = t1 - (a.get(pid) ?? 0);
    if (d <= 0) continue;
    ticks += d;
    users.push([pid, d]);
  }
  users.sort((x, y) => y[1] - x[1]);
  const top = users.slice(0, 3).map(([pid, d]) => {
    let name = "?";
    try {
      name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      /* gone */
    }
    return `${pid} ${name} ${(d * scale).toFixed(0)}%`;
  });
  return { pct: ticks * scale, top };
}

/** RssAnon in KiB of one process (0 if it is gone). */
export function rssAnonKiB(pid: number): number {
  try {
    const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Poll the tree RSS every 250 ms until four consecutive samples lie within
 * max(512 KiB, 0.5 %) of each other (or `maxMs` passes); returns the last sample.
 */
export async function stableTreeRssKiB(pid: number, maxMs: number): Promise<{ kib: number; stable: boolean }> {
  const deadline = Date.now() + maxMs;
  const window: number[] = [];
  for (;;) {
    const v = treeRssKiB(pid);
    window.push(v);
    if (window.length > 4) window.shift();
    if (window.length === 4) {
      const spread = Math.max(...window) - Math.min(...window);
      if (spread <= Math.max(512, v * 0.005)) return { kib: v, stable: true };
    }
    if (Date.now() >= deadline) return { kib: v, stable: false };
    await new Promise((r) => setTimeout(r, 250));
  }
}
