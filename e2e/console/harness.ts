/**
 * Playwright global setup for the console tests: starts the whole stack the
 * way an operator would run it, with nothing mocked.
 *
 *  1. the Keycloak-shaped OIDC provider (@halyard/oidc-testing) with the
 *     realm's users and the console's confidential client;
 *  2. the real broker process (`apps/broker/src/main.ts` under tsx) on free
 *     ports, trusting that realm, with a known local administrator password;
 *  3. the console: `next build` (skipped while a build newer than every
 *     source exists) and `next start` on a free port, pointed at both.
 *
 * The addresses go to the workers in E2E_CONSOLE_STACK; the returned function
 * is Playwright's teardown and stops everything. Process output is written to
 * e2e/test-results/stack-logs/ (git-ignored) for post-mortems.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startKeycloakLikeProvider, type KeycloakLikeProvider } from "@halyard/oidc-testing";
import { CONSOLE_CLIENT, LOCAL_ADMIN, SEEDED_TENANT, STACK_ENV, TENANT, repoRoot, users, type StackInfo } from "./stack.ts";
import { freePort } from "../net.ts";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** E2E_CONSOLE_DIR: test a copy of the console elsewhere in the repository (e.g. a snapshot while apps/console is mid-edit). */
const consoleDir = process.env.E2E_CONSOLE_DIR ? path.resolve(process.env.E2E_CONSOLE_DIR) : path.join(repoRoot, "apps/console");
const logDir = path.join(repoRoot, "e2e/test-results/stack-logs");

interface Child {
  proc: ChildProcess;
  name: string;
  /** Everything the process printed so far. */
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns a process in its own process group, logging to stack-logs/<name>.log. */
function start(name: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Child {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, `${name}.log`));
  const proc = spawn(args[0]!, args.slice(1), {
    cwd: opts.cwd,
    // Only the settings given here: an inherited HALYARD_* or CONSOLE_* variable would change what is tested.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HALYARD|CONSOLE)_/.test(k))), ...opts.env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const collect = (c: Buffer) => {
    out += c.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
    log.write(c);
  };
  proc.stdout?.on("data", collect);
  proc.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) =>
    proc.once("exit", (code) => {
      log.end();
      resolve(code);
    }),
  );
  return { proc, name, output: () => out, exited };
}

async function stop(child: Child | undefined): Promise<void> {
  if (!child || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const pid = child.proc.pid!;
  // The group of the process we started (next start may fork helpers of its own).
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), 8_000);
  await child.exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers 2xx; fails early (with the output) when the process exits. */
async function waitHttp(child: Child, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  let dead = false;
  void child.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${child.name} exited with ${child.proc.exitCode} before ${url} answered:\n${child.output().slice(-4000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name}: ${url} not ready after ${timeoutMs} ms (${last}):\n${child.output().slice(-4000)}`);
}

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(p)) {
    if (e === "node_modules" || e.startsWith(".")) continue;
    newest = Math.max(newest, newestMtime(path.join(p, e)));
  }
  return newest;
}

/**
 * The tests build into their own folder (next.config.ts reads CONSOLE_DIST_DIR), so a developer's
 * `next dev`/`next build` of apps/console never replaces the build the tests are serving.
 */
const DIST_DIR = ".next-e2e";

/** `next build` unless <distDir>/BUILD_ID is newer than every console source (and the API contract it compiles in). */
async function buildConsole(): Promise<void> {
  const buildId = path.join(consoleDir, DIST_DIR, "BUILD_ID");
  const sources = ["src", "next.config.ts", "package.json", "tsconfig.json"].map((f) => path.join(consoleDir, f));
  sources.push(path.join(repoRoot, "packages/api-contract/src"));
  const started = Date.now();
  // Someone else's `next build` of the same app holds Next's build lock: wait for it, then re-check.
  for (let attempt = 0; ; attempt++) {
    const newestSource = Math.max(...sources.map(newestMtime));
    if (existsSync(buildId) && statSync(buildId).mtimeMs > newestSource) return;
    const build = start("console-build", [process.execPath, path.join(repoRoot, "node_modules/next/dist/bin/next"), "build"], {
      cwd: consoleDir,
      env: { NEXT_TELEMETRY_DISABLED: "1", CONSOLE_DIST_DIR: DIST_DIR },
    });
    const code = await build.exited;
    if (code === 0) break;
    if (build.output().includes("Another next build process is already running") && attempt < 30) {
      await new Promise((r) => setTimeout(r, 3000));
      continue;
    }
    throw new Error(`next build of the console failed (exit ${code}):\n${build.output().slice(-6000)}`);
  }
  console.log(`[e2e] built the console in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function adminToken(apiUrl: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(LOCAL_ADMIN),
  });
  if (!res.ok) throw new Error(`local admin sign-in failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** The seeded tenant (a few devices) that the layout and keyboard tests browse. */
async function seed(apiUrl: string): Promise<void> {
  const token = await adminToken(apiUrl);
  const call = async (method: string, p: string, body: unknown) => {
    const res = await fetch(`${apiUrl}${p}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`seed ${method} ${p}: ${res.status} ${await res.text()}`);
  };
  await call("POST", "/api/v1/tenants", { slug: SEEDED_TENANT, name: "Globex Corporation" });
  for (const [i, zone] of ["north-hall", "south-hall", "loading-dock-with-a-rather-long-name"].entries()) {
    await call("POST", `/api/v1/tenants/${SEEDED_TENANT}/devices`, {
      clientId: `globex-sensor-${i + 1}-${zone}`,
      description: `Temperature and humidity sensor in the ${zone.replace(/-/g, " ")}`,
      tags: ["sensor", zone],
    });
  }
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is missing at ${chromiumPath}: run scripts/setup.sh (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "halyard-console-e2e-"));
  let provider: KeycloakLikeProvider | undefined;
  let broker: Child | undefined;
  let consoleProc: Child | undefined;
  const teardown = async () => {
    await stop(consoleProc);
    await stop(broker);
    await provider?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const consolePort = await freePort();
    const consoleUrl = `http://localhost:${consolePort}`;
    const [, p] = await Promise.all([
      buildConsole(),
      startKeycloakLikeProvider({
        apiAudience: "halyard-api",
        users: [
          { ...users.platformAdmin, firstName: "Pat", lastName: "Admin", email: "pat@example.com", realmRoles: ["platform_admin"] },
          { ...users.viewer, firstName: "Val", lastName: "Viewer", email: "val@example.com", groups: [`/tenants/${TENANT}/tenant_viewer`] },
          { ...users.operator, firstName: "Otto", lastName: "Operator", email: "otto@example.com", groups: [`/tenants/${TENANT}/tenant_operator`] },
        ],
        clients: [
          {
            clientId: CONSOLE_CLIENT.clientId,
            secret: CONSOLE_CLIENT.secret,
            redirectUris: [`${consoleUrl}/api/auth/callback`],
            postLogoutRedirectUris: [`${consoleUrl}/login?signedOut=1`],
          },
        ],
      }),
    ]);
    provider = p;

    broker = start("broker", [process.execPath, "--import", "tsx", path.join(repoRoot, "apps/broker/src/main.ts")], {
      cwd: repoRoot,
      env: {
        HALYARD_DATA_DIR: path.join(dataDir, "broker"),
        HALYARD_HOST: "127.0.0.1",
        HALYARD_MQTT_PORT: "0",
        HALYARD_WS_PORT: "0",
        HALYARD_HTTP_PORT: "0",
        HALYARD_OIDC_ISSUER: provider.issuer,
        HALYARD_ADMIN_PASSWORD: LOCAL_ADMIN.password,
        HALYARD_LOG_PRETTY: "false",
        HALYARD_LOG_LEVEL: "info",
      },
    });
    const ports = await brokerPorts(broker);
    const apiUrl = `http://127.0.0.1:${ports.http}`;
    await waitHttp(broker, `${apiUrl}/health/ready`, 90_000);
    await seed(apiUrl);

    consoleProc = start("console", [process.execPath, path.join(repoRoot, "node_modules/next/dist/bin/next"), "start", "-p", String(consolePort)], {
      cwd: consoleDir,
      env: {
        NEXT_TELEMETRY_DISABLED: "1",
        CONSOLE_DIST_DIR: DIST_DIR,
        CONSOLE_API_URL: apiUrl,
        CONSOLE_PUBLIC_URL: consoleUrl,
        CONSOLE_OIDC_ISSUER: provider.issuer,
        CONSOLE_OIDC_CLIENT_ID: CONSOLE_CLIENT.clientId,
        CONSOLE_OIDC_CLIENT_SECRET: CONSOLE_CLIENT.secret,
        CONSOLE_SESSION_SECRET: "e2e-session-secret-0123456789abcdef-0123456789",
        CONSOLE_DATA_DIR: path.join(dataDir, "console"),
        CONSOLE_MQTT_HOST: "127.0.0.1",
        CONSOLE_MQTT_PORT: String(ports.tcp),
      },
    });
    await waitHttp(consoleProc, `${consoleUrl}/api/health`, 90_000);

    const info: StackInfo = { consoleUrl, apiUrl, mqttPort: ports.tcp, wsPort: ports.ws, issuer: provider.issuer };
    process.env[STACK_ENV] = JSON.stringify(info);
    return teardown;
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** The broker logs its bound ports once started (port 0 = any free port, so no race with other processes). */
function brokerPorts(child: Child): Promise<{ tcp: number; ws: number; http: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start in 90 s:\n${child.output().slice(-4000)}`)), 90_000);
    const check = () => {
      for (const line of child.output().split("\n")) {
        if (!line.includes('"halyard broker started"')) continue;
        clearTimeout(timer);
        child.proc.stdout?.off("data", check);
        resolve((JSON.parse(line) as { ports: { tcp: number; ws: number; http: number } }).ports);
        return;
      }
    };
    child.proc.stdout?.on("data", check);
    void child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${child.output().slice(-4000)}`));
    });
  });
}
