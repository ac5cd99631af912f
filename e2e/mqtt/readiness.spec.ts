import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@halyard/db";
import mqtt from "mqtt";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../net.ts";
import { pollReadiness, postgresDatabase, ready, spawnBroker, type OpsProcess } from "./ops-process.ts";

/**
 * Readiness transitions of the real broker process, each provoked for real:
 * - migrating: the test holds the advisory lock Prisma's migrations take, so
 *   the broker waits in "migrating" until the test lets go;
 * - database-unavailable: the control-plane database (an embedded Postgres
 *   server on a fixed port) is stopped, then replaced by a port that accepts
 *   and never answers, then started again; readiness answers within about a
 *   second every time and comes back to ready by itself;
 * - draining: SIGTERM with a drain delay; during it new MQTT connections are
 *   refused while connected clients are still served.
 */

/** The lock `prisma migrate deploy` (and the broker's migrations) take. */
const PRISMA_MIGRATION_LOCK = 72707369;

describe("readiness transitions", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  function track(b: OpsProcess): OpsProcess {
    cleanups.push(async () => {
      b.kill("SIGKILL");
      await b.exited;
      rmSync(b.dataDir, { recursive: true, force: true });
    });
    return b;
  }

  it("starting -> migrating while migrations wait -> ready; the API answers 503 until then", { timeout: 90_000 }, async () => {
    const db = await postgresDatabase();
    cleanups.push(() => db.drop());
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATION_LOCK]);

    const b = track(await spawnBroker({ DATABASE_URL: db.url }));
    const live = await fetch(`http://127.0.0.1:${b.http}/health/live`);
    expect(live.status).toBe(200);
    const before = await pollReadiness(b.http, "migrating");
    expect(before.every((s) => s === "starting" || s === "migrating")).toBe(true);
    // Held for a while: it stays "migrating", with 503, and the API is not served yet.
    await new Promise((r) => setTimeout(r, 500));
    expect(await ready(b.http)).toMatchObject({ code: 503, status: "migrating" });
    const api = await fetch(`http://127.0.0.1:${b.http}/api/v1/tenants`);
    expect(api.status).toBe(503);
    expect(api.headers.get("content-type")).toContain("application/problem+json");

    await holder.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATION_LOCK]);
    const after = await pollReadiness(b.http, "ready", 30_000);
    expect(after[after.length - 1]).toBe("ready");
    const res = await fetch(`http://127.0.0.1:${b.http}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ready", listeners: { tcp: expect.any(Number), ws: expect.any(Number) } });

    // The transitions, as logged.
    const transitions = b.lines().filter((l) => l.msg === "readiness changed").map((l) => l.to);
    expect(transitions.slice(0, 1)).toEqual(["migrating"]);
    expect(transitions[transitions.length - 1]).toBe("ready");
  });

  it("database-unavailable when the database stops or stops answering, within about a second; ready again when it is back", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "halyard-pglite-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    let database: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir: dir, port });
    cleanups.push(() => database?.close() ?? Promise.resolve());

    const b = track(await spawnBroker({ DATABASE_URL: database.connectionString }));
    await b.started;
    expect(await ready(b.http)).toMatchObject({ code: 200, status: "ready" });
    const gauge = async () => /^halyard_ready (\d)$/m.exec(await (await fetch(`http://127.0.0.1:${b.http}/metrics`)).text())?.[1];
    expect(await gauge()).toBe("1");

    // Stopped: connections are refused.
    await database.close();
    database = undefined;
    const down = await ready(b.http);
    expect(down).toMatchObject({ code: 503, status: "database-unavailable" });
    expect(down.ms).toBeLessThan(1500);
    expect(await gauge()).toBe("0");
    await b.waitForLog((l) => l.msg === "readiness changed" && l.to === "database-unavailable");

    // Silent: the port accepts connections and never answers; the ping times out.
    const silent = net.createServer((socket) => socket.on("error", () => undefined));
    const held = new Set<net.Socket>();
    silent.on("connection", (s) => held.add(s));
    await new Promise<void>((resolve) => silent.listen(port, "127.0.0.1", resolve));
    for (let i = 0; i < 3; i++) {
      const r = await ready(b.http);
      expect(r).toMatchObject({ code: 503, status: "database-unavailable" });
      expect(r.ms).toBeLessThan(1500);
    }
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));

    // Back: the same server on the same port; readiness recovers without a restart.
    database = await startEmbeddedPostgres({ dataDir: dir, port });
    const seen = await pollReadiness(b.http, "ready", 15_000, 100);
    expect(seen[seen.length - 1]).toBe("ready");
    expect(await gauge()).toBe("1");
    await b.waitForLog((l) => l.msg === "readiness changed" && l.from === "database-unavailable" && l.to === "ready");

    b.kill("SIGTERM");
    expect(await b.exited).toBe(0);
  });

  it("draining on SIGTERM: 503, new MQTT connections refused, connected clients served until the delay ends, then 0x8B", { timeout: 90_000 }, async () => {
    const db = await postgresDatabase();
    cleanups.push(() => db.drop());
    const b = track(await spawnBroker({ DATABASE_URL: db.url, HALYARD_SHUTDOWN_DRAIN_DELAY_MS: "2000" }));
    const ports = await b.started;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.tcp}`, { protocolVersion: 5, reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    await client.subscribeAsync("drain/#", { qos: 1 });
    const disconnect = new Promise<number | undefined>((resolve) => client.once("disconnect", (p) => resolve(p.reasonCode)));

    const signalledAt = Date.now();
    b.kill("SIGTERM");
    await pollReadiness(b.http, "draining", 1500, 10);
    expect(await ready(b.http)).toMatchObject({ code: 503, status: "draining" });
    // New MQTT connections are refused at the socket...
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(ports.tcp, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve("connected")));
      s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    // ...while the connected client is still served.
    const echo = new Promise<string>((resolve) => client.once("message", (_t, p) => resolve(p.toString())));
    await client.publishAsync("drain/x", "still here", { qos: 1 });
    expect(await echo).toBe("still here");
    expect(Date.now() - signalledAt).toBeLessThan(2000);

    expect(await disconnect).toBe(0x8b);
    expect(await b.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(2000);
    const transitions = b.lines().filter((l) => l.msg === "readiness changed").map((l) => `${String(l.from)}->${String(l.to)}`);
    expect(transitions).toContain("ready->draining");
    expect(b.lines().some((l) => l.msg === "shutdown complete")).toBe(true);
  });
});
