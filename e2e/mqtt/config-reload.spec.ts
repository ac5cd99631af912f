import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresDatabase, spawnBroker, type OpsProcess } from "./ops-process.ts";

/**
 * SIGHUP re-reads the HALYARD_CONFIG file of the running process and applies
 * what needs no new listener (here the maximum packet size, Receive Maximum,
 * log level and anonymous policy), reports what would need a restart, refuses
 * an invalid file without stopping, and leaves an audit record by "system".
 */
describe("configuration reload on SIGHUP (real process)", () => {
  const ADMIN_PASSWORD = "reload-admin-password-1";
  let b: OpsProcess;
  let dir: string;
  let configFile: string;
  let tcp: number;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "halyard-reload-"));
    configFile = path.join(dir, "halyard.json");
    writeFileSync(configFile, JSON.stringify({ maxPacketSize: 1000, logLevel: "info" }));
    const db = await postgresDatabase();
    drop = db.drop;
    // The log level comes from the file here: a variable would win over it, so none is set.
    b = await spawnBroker({ DATABASE_URL: db.url, HALYARD_CONFIG: configFile, HALYARD_ADMIN_PASSWORD: ADMIN_PASSWORD, HALYARD_LOG_LEVEL: undefined });
    tcp = (await b.started).tcp;
  }, 60_000);
  afterAll(async () => {
    b?.kill("SIGTERM");
    await b?.exited;
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const connack = (opts: mqtt.IClientOptions = {}) => mqtt.connectAsync(`mqtt://127.0.0.1:${tcp}`, { protocolVersion: 5, reconnectPeriod: 0, ...opts });

  /** The CONNACK properties a new v5 connection gets. */
  const limits = (): Promise<{ maximumPacketSize?: number; receiveMaximum?: number }> =>
    new Promise((resolve, reject) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${tcp}`, { protocolVersion: 5, reconnectPeriod: 0 });
      c.once("connect", (packet) => {
        resolve(packet.properties ?? {});
        c.end(true);
      });
      c.once("error", reject);
    });

  it("applies reloadable settings to new connections and the log at once; lists the rest", async () => {
    expect((await limits()).maximumPacketSize).toBe(1000);
    const kept = await connack();
    writeFileSync(configFile, JSON.stringify({ maxPacketSize: 4000, receiveMaximum: 9, logLevel: "debug", wsPath: "/other", store: "memory" }));
    const reloads = b.lines().length;
    b.kill("SIGHUP");
    const done = await b.waitForLog((l) => l.msg === "configuration reloaded");
    expect(done).toMatchObject({ via: "SIGHUP", restartRequired: ["store", "wsPath"] });
    expect([...(done.applied as string[])].sort()).toEqual(["logLevel", "maxPacketSize", "receiveMaximum"]);
    expect(b.lines().length).toBeGreaterThan(reloads);

    expect(await limits()).toMatchObject({ maximumPacketSize: 4000, receiveMaximum: 9 });
    // Debug now: a new connection is logged with its tenant (anonymous) and client id.
    const c = await connack({ clientId: "after-reload" });
    await b.waitForLog((l) => l.msg === "mqtt client connected" && l.clientId === "after-reload");
    expect(b.lines().find((l) => l.clientId === "after-reload")).toMatchObject({ tenant: "_anonymous", level: 20 });
    await c.endAsync();
    await kept.endAsync();
    // The process kept running, ready.
    expect((await fetch(`http://127.0.0.1:${b.http}/health/ready`)).status).toBe(200);
  });

  it("an invalid file is refused and logged; the running configuration stays; the reloads are audited as the system", async () => {
    writeFileSync(configFile, JSON.stringify({ maxPacketSize: "huge" }));
    b.kill("SIGHUP");
    const refused = await b.waitForLog((l) => l.msg === "configuration reload refused; the running configuration is kept");
    expect(refused).toMatchObject({ via: "SIGHUP", level: 50 });
    expect(String(refused.error)).toContain("HALYARD_MAX_PACKET_SIZE");
    expect((await limits()).maximumPacketSize).toBe(4000);
    expect(b.proc.exitCode).toBe(null);

    const login = await fetch(`http://127.0.0.1:${b.http}/api/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const audit = await fetch(`http://127.0.0.1:${b.http}/api/v1/audit?resource=runtime`, { headers: { authorization: `Bearer ${accessToken}` } });
    const items = ((await audit.json()) as { items: { actor: string; action: string; after: Record<string, unknown> }[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ actor: "system", action: "runtime.config-reload", after: { maxPacketSize: 4000, receiveMaximum: 9, logLevel: "debug", restartRequired: ["store", "wsPath"] } });
  });
});
