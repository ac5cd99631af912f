/**
 * Connect storm against Halyard with real tenancy: devices, credentials and
 * a role made through the admin API, devices connecting as
 * `<username>@<tenant>` with their generated passwords.
 *
 *   npx tsx bench/src/storm.ts [--devices 10000] [--concurrency 500]
 *       [--api-concurrency 1] [--pairs 50] [--rules 1000] [--measure-ms 5000]
 *
 * 1. Boots the broker in a child process (`node --import tsx
 *    apps/broker/src/main.ts`, embedded database, ports 0, a temp data dir).
 * 2. Provisions one tenant: a role bound to a group, then per device a
 *    device, a generated credential and the group membership (three API
 *    calls), `--api-concurrency` at a time; reports how long that took.
 * 3. Cold storm: every device connects (raw MQTT 3.1.1 CONNECT over
 *    node:net, `--concurrency` handshakes in progress at once) while nothing
 *    about them is cached in the broker; the connections stay open.
 * 4. Warm storm: all disconnect, then connect again (credential, verified
 *    password and permissions now cached).
 * 5. QoS 0 throughput of `--pairs` 1:1 publisher/subscriber pairs with the
 *    role holding `--rules` rules, the matching one last, then with a single
 *    `#` rule.
 *
 * One generator process keeps at most `--devices` sockets open (keep it
 * <= 10,000: the fd limit is 20,000 per process).
 */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt-packet";
import { FrameReader } from "./loadgen/reader.ts";
import { Histogram, type LatencySummary } from "./stats.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TENANT = "storm";
const ADMIN_PASSWORD = "storm-bench-admin-password";
const DISCONNECT = Buffer.from([0xe0, 0x00]);

// ---- options -----------------------------------------------------------------------------------

interface Options {
  devices: number;
  concurrency: number;
  apiConcurrency: number;
  pairs: number;
  rules: number;
  measureMs: number;
  window: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { devices: 10_000, concurrency: 500, apiConcurrency: 1, pairs: 50, rules: 1000, measureMs: 5000, window: 64 };
  const keys: Record<string, keyof Options> = {
    "--devices": "devices",
    "--concurrency": "concurrency",
    "--api-concurrency": "apiConcurrency",
    "--pairs": "pairs",
    "--rules": "rules",
    "--measure-ms": "measureMs",
    "--window": "window",
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] as string).split("=", 2) as [string, string | undefined];
    const key = keys[flag];
    const value = Number(inline ?? argv[++i]);
    if (!key || !Number.isInteger(value) || value < 1) throw new Error(`usage: storm.ts ${Object.keys(keys).map((k) => `[${k} N]`).join(" ")} (bad: ${flag})`);
    o[key] = value;
  }
  if (o.devices > 10_000) throw new Error("--devices above 10000 would pass the 20,000 fd limit of one generator process");
  if (o.pairs * 2 > o.devices) throw new Error("--pairs needs 2 devices per pair");
  return o;
}

// ---- the broker process ------------------------------------------------------------------------

interface Broker {
  child: ChildProcess;
  mqttPort: number;
  httpPort: number;
  dataDir: string;
  stop(): Promise<void>;
}

async function startBroker(): Promise<Broker> {
  const dataDir = mkdtempSync(join(tmpdir(), "halyard-storm-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("HALYARD_") && k !== "DATABASE_URL") env[k] = v;
  Object.assign(env, {
    HALYARD_HOST: "127.0.0.1",
    HALYARD_MQTT_PORT: "0",
    HALYARD_WS_PORT: "0",
    HALYARD_HTTP_PORT: "0",
    HALYARD_DATA_DIR: dataDir,
    HALYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    HALYARD_LOG_LEVEL: "info",
    HALYARD_LOG_PRETTY: "false",
  });
  const child = spawn(process.execPath, ["--import", "tsx", "apps/broker/src/main.ts"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once("exit", () => child.kill("SIGKILL"));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(130);
    });
  }
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const ports = await new Promise<Record<string, number>>((resolvePorts, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start in 60 s\n${stderr}`)), 60_000);
    child.once("exit", (code) => reject(new Error(`broker exited (${code})\n${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; ports?: Record<string, number>; level?: number };
        if (entry.msg === "halyard broker started" && entry.ports) {
          clearTimeout(timer);
          resolvePorts(entry.ports);
        } else if ((entry.level ?? 0) >= 50) {
          process.stderr.write(`broker: ${line}\n`);
        }
      } catch {
        /* not a log line */
      }
    });
  });
  return { child, mqttPort: ports.tcp!, httpPort: ports.http!, dataDir, stop };
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---- admin API -----------------------------------------------------------------------------------

class ApiClient {
  private token = "";
  requests = 0;
  serverErrors = 0;

  constructor(private readonly base: string) {}

  async login(): Promise<void> {
    const r = await fetch(`${this.base}/api/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
    });
    if (r.status !== 201) throw new Error(`admin login: ${r.status} ${await r.text()}`);
    this.token = ((await r.json()) as { accessToken: string }).accessToken;
  }

  /** One request; retried on 5xx (the embedded database answers some concurrent transactions with errors). */
  async call<T = any>(method: string, path: string, body?: unknown, ok: number[] = [200, 201, 204]): Promise<{ status: number; body: T }> {
    for (let attempt = 0; ; attempt++) {
      this.requests++;
      const r = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      const parsed = (text ? JSON.parse(text) : undefined) as T;
      if (ok.includes(r.status)) return { status: r.status, body: parsed };
      if (r.status === 401 && attempt < 3) {
        await this.login();
        continue;
      }
      if (r.status >= 500 && attempt < 8) {
        this.serverErrors++;
        await sleep(20 * 2 ** attempt);
        continue;
      }
      throw new Error(`${method} ${path} -> ${r.status} ${text}`);
    }
  }
}

interface Device {
  clientId: string;
  username: string;
  password: string;
}

async function provision(api: ApiClient, o: Options): Promise<{ devices: Device[]; roleId: string; ms: number }> {
  const t0 = performance.now();
  await api.call("POST", "/api/v1/tenants", { slug: TENANT, name: "Connect storm" });
  const role = await api.call<{ id: string }>("POST", `/api/v1/tenants/${TENANT}/roles`, { name: "devices", rules: [{ effect: "allow", action: "both", topicFilter: "#" }] });
  const group = await api.call<{ id: string }>("POST", `/api/v1/tenants/${TENANT}/groups`, { name: "all" });
  await api.call("POST", `/api/v1/tenants/${TENANT}/bindings`, { roleId: role.body.id, targetType: "group", targetId: group.body.id });

  const devices: Device[] = new Array(o.devices);
  let done = 0;
  const progress = setInterval(() => process.stderr.write(`  provisioned ${done}/${o.devices} (${api.serverErrors} server errors retried)\n`), 10_000);
  try {
    await forEachLimit(o.devices, o.apiConcurrency, async (i) => {
      const clientId = `dev-${String(i).padStart(5, "0")}`;
      // A create answered with an error may still have committed: find it rather than fail on the retry.
      const created = await api.call<{ id: string }>("POST", `/api/v1/tenants/${TENANT}/devices`, { clientId }, [201, 409]);
      const id =
        created.status === 201
          ? created.body.id
          : (await api.call<{ items: { id: string; clientId: string }[] }>("GET", `/api/v1/tenants/${TENANT}/devices?q=${clientId}`)).body.items.find((d) => d.clientId === clientId)!.id;
      let cred: { username: string; password: string } | undefined;
      for (let attempt = 0; !cred; attempt++) {
        const r = await api.call<{ username: string; password: string }>("POST", `/api/v1/tenants/${TENANT}/devices/${id}/credentials`, attempt === 0 ? {} : { username: `${clientId}-${attempt}` }, [201, 409]);
        if (r.status === 201) cred = r.body;
      }
      await api.call("PUT", `/api/v1/tenants/${TENANT}/groups/${group.body.id}/members/${id}`, undefined, [200, 201, 204, 409]);
      devices[i] = { clientId, username: cred.username, password: cred.password };
      done++;
    });
  } finally {
    clearInterval(progress);
  }
  return { devices, roleId: role.body.id, ms: performance.now() - t0 };
}

// ---- connect storm -------------------------------------------------------------------------------

function connectPacket(d: Device): Buffer {
  return mqtt.generate({
    cmd: "connect",
    protocolId: "MQTT",
    protocolVersion: 4,
    clean: true,
    clientId: d.clientId,
    keepalive: 0,
    username: `${d.username}@${TENANT}`,
    password: Buffer.from(d.password),
  });
}

interface StormResult {
  wallMs: number;
  accepted: number;
  refused: Record<string, number>;
  latency: LatencySummary;
  generatorCpuPct: number;
  brokerCpuS: number;
  sockets: net.Socket[];
}

async function storm(port: number, packets: Buffer[], concurrency: number, brokerPid: number): Promise<StormResult> {
  const hist = new Histogram();
  const sockets: net.Socket[] = [];
  const refused: Record<string, number> = {};
  const count = (why: string) => (refused[why] = (refused[why] ?? 0) + 1);
  const cpu0 = process.cpuUsage();
  const broker0 = cpuSeconds(brokerPid);
  const t0 = performance.now();
  await forEachLimit(packets.length, concurrency, (i) => {
    return new Promise<void>((done) => {
      const start = performance.now();
      const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
      let head = Buffer.alloc(0);
      let settled = false;
      const finish = (why: string | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (why === undefined) {
          hist.recordMs(performance.now() - start);
          sockets.push(socket);
        } else {
          count(why);
          socket.destroy();
        }
        done();
      };
      const timer = setTimeout(() => finish("timeout"), 60_000);
      socket.once("connect", () => socket.write(packets[i]!));
      socket.on("data", (d: Buffer) => {
        if (settled) return;
        head = Buffer.concat([head, d]);
        if (head.length < 4) return;
        if (head[0] !== 0x20) finish("not a CONNACK");
        else finish(head[3] === 0 ? undefined : `CONNACK ${head[3]}`);
      });
      socket.on("error", (err: NodeJS.ErrnoException) => finish(err.code ?? "socket error"));
      socket.on("close", () => finish("closed before CONNACK"));
    });
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    wallMs,
    accepted: sockets.length,
    refused,
    latency: hist.summary(),
    generatorCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    brokerCpuS: cpuSeconds(brokerPid) - broker0,
    sockets,
  };
}

async function disconnectAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((done) => {
          if (s.destroyed) return done();
          const timer = setTimeout(() => s.destroy(), 10_000);
          s.once("close", () => {
            clearTimeout(timer);
            done();
          });
          s.end(DISCONNECT);
        }),
    ),
  );
}

async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : NaN;
}

async function waitForConnections(httpPort: number, n: number, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await metric(httpPort, "halyard_connections")) !== n) {
    if (Date.now() > deadline) throw new Error(`broker did not reach ${n} connections`);
    await sleep(100);
  }
}

// ---- QoS 0 pairs ---------------------------------------------------------------------------------

interface PairsResult {
  msgsPerSec: number;
  latency: LatencySummary;
  stalls: number;
  brokerCpuPct: number;
  generatorCpuPct: number;
}

/** Raw MQTT 3.1.1 connection: CONNACK and SUBACK awaited, PUBLISH frames handed to `onPublish`. */
async function openConn(port: number, packet: Buffer, onPublish?: (buf: Buffer, body: number, end: number) => void): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
  let waiting: ((code: number) => void) | undefined;
  const reader = new FrameReader({
    onFrame(b0, buf, body, end) {
      const type = b0 >> 4;
      if (type === 3) onPublish?.(buf, body, end);
      else if (type === 2) waiting?.(buf[body + 1]!);
      else if (type === 9) waiting?.(buf[body + 2]!);
    },
  });
  socket.on("data", (d: Buffer) => reader.push(d));
  socket.on("error", () => undefined);
  const ack = () => new Promise<number>((r) => (waiting = r));
  const connack = ack();
  socket.once("connect", () => socket.write(packet));
  const code = await connack;
  if (code !== 0) throw new Error(`CONNACK ${code}`);
  (socket as net.Socket & { ack: () => Promise<number> }).ack = ack;
  return socket;
}

async function pairs(port: number, devices: Device[], o: Options, brokerPid: number): Promise<PairsResult> {
  const P = o.pairs;
  const W = o.window;
  const sent = new Float64Array(P);
  const received = new Float64Array(P);
  const lastProgress = new Float64Array(P);
  const hist = new Histogram();
  let measuring = false;
  let delivered = 0;
  let stalls = 0;
  let sending = true;
  let pumpScheduled = false;
  const payload = Buffer.alloc(64, 0x2e);

  const subs: net.Socket[] = [];
  const pubs: { socket: net.Socket; frame: Buffer; tsOffset: number }[] = [];
  try {
    for (let i = 0; i < P; i++) {
      const sub = await openConn(port, connectPacket(devices[i]!), (buf, body, end) => {
        const payloadAt = body + 2 + buf.readUInt16BE(body);
        if (end - payloadAt < 8) return;
        const now = performance.now();
        received[i]! += 1;
        lastProgress[i] = now;
        if (measuring) {
          delivered++;
          hist.recordMs(now - buf.readDoubleLE(payloadAt));
        }
        if (!pumpScheduled && sent[i]! - received[i]! <= W / 2) {
          pumpScheduled = true;
          setImmediate(pump);
        }
      });
      const suback = (sub as net.Socket & { ack: () => Promise<number> }).ack();
      sub.write(mqtt.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: `bench/pair/${i}`, qos: 0 }] }));
      const granted = await suback;
      if (granted >= 0x80) throw new Error(`SUBACK ${granted} for bench/pair/${i}`);
      subs.push(sub);
      const frame = mqtt.generate({ cmd: "publish", topic: `bench/pair/${i}`, payload, qos: 0, retain: false, dup: false });
      pubs.push({ socket: await openConn(port, connectPacket(devices[P + i]!)), frame, tsOffset: frame.length - payload.length });
    }

    function pump(): void {
      pumpScheduled = false;
      if (!sending) return;
      const ts = performance.now();
      for (let i = 0; i < P; i++) {
        const free = W - (sent[i]! - received[i]!);
        if (free < W / 4) continue;
        const { socket, frame, tsOffset } = pubs[i]!;
        const out = Buffer.allocUnsafe(free * frame.length);
        for (let k = 0, off = 0; k < free; k++, off += frame.length) {
          frame.copy(out, off);
          out.writeDoubleLE(ts, off + tsOffset);
        }
        sent[i]! += free;
        socket.write(out);
      }
    }
    // QoS 0 may be dropped (slow consumer): a pair without progress for 500 ms writes its window off.
    const stallTimer = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < P; i++) {
        if (sent[i]! > received[i]! && now - lastProgress[i]! > 500) {
          stalls++;
          sent[i] = received[i]!;
          lastProgress[i] = now;
          if (!pumpScheduled) {
            pumpScheduled = true;
            setImmediate(pump);
          }
        }
      }
    }, 250);
    lastProgress.fill(performance.now());
    pump();
    await sleep(1000); // warm-up
    hist.reset();
    const broker0 = cpuSeconds(brokerPid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    measuring = true;
    await sleep(o.measureMs);
    measuring = false;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const brokerCpu = cpuSeconds(brokerPid) - broker0;
    sending = false;
    clearInterval(stallTimer);
    return {
      msgsPerSec: (delivered / ms) * 1000,
      latency: hist.summary(),
      stalls,
      brokerCpuPct: ((brokerCpu * 1000) / ms) * 100,
      generatorCpuPct: ((cpu.user + cpu.system) / 1000 / ms) * 100,
    };
  } finally {
    sending = false;
    await disconnectAll([...subs, ...pubs.map((p) => p.socket)]);
  }
}

// ---- helpers -------------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function forEachLimit(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) => "| " + cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join(" | ") + " |";
  return [line(head), "|" + widths.map((w, c) => (c === 0 ? ":" : "") + "-".repeat(w + 1) + (c === 0 ? "" : ":")).join("|") + "|", ...rows.map(line)].join("\n");
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  process.stderr.write(`storm: ${JSON.stringify(o)}\n`);
  const broker = await startBroker();
  const pid = broker.child.pid!;
  try {
    const api = new ApiClient(`http://127.0.0.1:${broker.httpPort}`);
    await api.login();
    process.stderr.write("provisioning...\n");
    const { devices, roleId, ms: provisionMs } = await provision(api, o);
    const packets = devices.map(connectPacket);
    process.stderr.write(`provisioned ${o.devices} devices in ${(provisionMs / 1000).toFixed(1)} s\n`);

    process.stderr.write("cold storm...\n");
    const cold = await storm(broker.mqttPort, packets, o.concurrency, pid);
    const rssCold = rssMiB(pid);
    await waitForConnections(broker.httpPort, cold.accepted);
    await disconnectAll(cold.sockets);
    await waitForConnections(broker.httpPort, 0);
    process.stderr.write("warm storm...\n");
    const warm = await storm(broker.mqttPort, packets, o.concurrency, pid);
    await waitForConnections(broker.httpPort, warm.accepted);
    await disconnectAll(warm.sockets);
    await waitForConnections(broker.httpPort, 0);

    const rules = [
      ...Array.from({ length: o.rules - 1 }, (_, k) => ({ effect: "allow", action: "both", topicFilter: `fleet/${k}/+/telemetry/#` })),
      { effect: "allow", action: "both", topicFilter: "bench/#" },
    ];
    process.stderr.write(`pairs with ${o.rules} rules...\n`);
    await api.call("PATCH", `/api/v1/tenants/${TENANT}/roles/${roleId}`, { rules });
    const many = await pairs(broker.mqttPort, devices, o, pid);
    process.stderr.write("pairs with one rule...\n");
    await api.call("PATCH", `/api/v1/tenants/${TENANT}/roles/${roleId}`, { rules: [{ effect: "allow", action: "both", topicFilter: "#" }] });
    await waitForConnections(broker.httpPort, 0);
    const one = await pairs(broker.mqttPort, devices, o, pid);

    const stormRow = (name: string, r: StormResult) => [
      name,
      f0(r.accepted),
      Object.entries(r.refused).map(([k, v]) => `${k}: ${v}`).join(", ") || "0",
      f1(r.wallMs / 1000),
      f0((r.accepted / r.wallMs) * 1000),
      f1(r.latency.p50),
      f1(r.latency.p99),
      f1(r.latency.max),
      f1(r.brokerCpuS),
      f0(r.generatorCpuPct),
    ];
    const out = [
      "",
      `Halyard connect storm — ${o.devices.toLocaleString("en-US")} devices in tenant '${TENANT}', concurrency ${o.concurrency}, node ${process.version}, embedded database`,
      "",
      `Provisioning through the API: ${f1(provisionMs / 1000)} s for ${o.devices.toLocaleString("en-US")} devices ` +
        `(${api.requests.toLocaleString("en-US")} requests, ${f0((o.devices / provisionMs) * 1000)} devices/s, ${api.serverErrors} server errors retried, api concurrency ${o.apiConcurrency})`,
      "",
      table(
        ["storm", "accepted", "refused", "total s", "connects/s", "p50 ms", "p99 ms", "max ms", "broker CPU s", "generator CPU %"],
        [stormRow("cold (nothing cached)", cold), stormRow("warm (reconnect)", warm)],
      ),
      "",
      `Broker RSS with ${f0(cold.accepted)} connections: ${f0(rssCold)} MiB`,
      "",
      table(
        ["QoS 0, " + o.pairs + " 1:1 pairs", "msgs/s", "p50 ms", "p99 ms", "stalls", "broker CPU %", "generator CPU %"],
        [
          [`role with ${o.rules} rules, match last`, f0(many.msgsPerSec), f1(many.latency.p50), f1(many.latency.p99), String(many.stalls), f0(many.brokerCpuPct), f0(many.generatorCpuPct)],
          ["role with one rule (#)", f0(one.msgsPerSec), f1(one.latency.p50), f1(one.latency.p99), String(one.stalls), f0(one.brokerCpuPct), f0(one.generatorCpuPct)],
        ],
      ),
      "",
    ];
    process.stdout.write(out.join("\n"));
  } finally {
    await broker.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`storm: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
