#!/usr/bin/env node
// `npm start`: the whole platform on its embedded defaults, in one terminal.
// Starts the broker (MQTT listeners + admin API + embedded Postgres) and the
// console (built on first run or when its sources changed), prefixes their
// output, forwards Ctrl-C / SIGTERM to both, and stops both when one exits.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const consoleDir = path.join(root, "apps/console");

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const buildId = path.join(consoleDir, ".next/BUILD_ID");
const sources = Math.max(newestMtime(path.join(consoleDir, "src")), statSync(path.join(consoleDir, "next.config.ts")).mtimeMs);
if (!existsSync(buildId) || statSync(buildId).mtimeMs < sources) {
  console.log("start: building the console (first start or changed sources)…");
  const built = spawnSync("npm", ["run", "build", "-w", "@halyard/console", "--silent"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const httpPort = process.env.HALYARD_HTTP_PORT ?? "8080";
const consolePort = process.env.PORT ?? "3000";
// The programs themselves, not `npm run`: npm does not pass SIGTERM on to its script,
// and the broker must get it to shut down gracefully (DISCONNECT 0x8B, flush).
const bin = (name) => path.join(root, "node_modules/.bin", name);
const children = [
  { name: "broker", cwd: path.join(root, "apps/broker"), cmd: [bin("tsx"), "src/main.ts"], env: {} },
  {
    name: "console",
    cwd: consoleDir,
    cmd: [bin("next"), "start", "-p", consolePort],
    env: { NEXT_TELEMETRY_DISABLED: "1", CONSOLE_API_URL: process.env.CONSOLE_API_URL ?? `http://127.0.0.1:${httpPort}` },
  },
];

let stopping = false;
const running = children.map(({ name, cwd, cmd, env }) => {
  const child = spawn(cmd[0], cmd.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = "";
    stream.on("data", (chunk) => {
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) (stream === child.stderr ? process.stderr : process.stdout).write(`[${name}] ${line}\n`);
    });
  }
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`[${name}] exited (${signal ?? code}); stopping the platform`);
      stop(code ?? 1);
    }
  });
  return child;
});

console.log(`start: console on http://localhost:${consolePort}, admin API on http://localhost:${httpPort}`);

function stop(code) {
  stopping = true;
  for (const c of running) if (c.exitCode === null) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 15_000).unref();
  Promise.all(running.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on("exit", r))))).then(() => process.exit(code));
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
