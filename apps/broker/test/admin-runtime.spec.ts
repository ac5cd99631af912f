import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "./api-harness.ts";
import { connackOf, closeAll, connectDevice, connectRaw, provisionTenant, refusal, until, type Client, type TenantFixture } from "./mqtt-tenant-kit.ts";
import { startOps, type OpsBroker } from "./ops-harness.ts";

/**
 * Runtime administration: the log level (PUT /api/v1/admin/log-level) and
 * configuration reload without a restart (POST /api/v1/admin/config/reload):
 * platform administrators only, audited, invalid input refused with the
 * running configuration kept, and the new values observable on real MQTT
 * connections and in the log output.
 */
describe("admin: log level and configuration reload", () => {
  let ops: OpsBroker;
  let acme: TenantFixture;
  let tenantAdmin: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    ops = await startOps({ config: { maxPacketSize: 1000, logLevel: "info" } });
    // provisionTenant needs only `call` and `admin`, which the ops broker has too.
    acme = await provisionTenant(ops as unknown as Api, "acme", ["d1", "d2"]);
    tenantAdmin = await ops.userToken("alice", ["/tenants/acme/tenant_admin"]);
  }, 90_000);
  afterAll(async () => {
    await closeAll(...clients);
    await ops?.close();
  });

  const port = () => ops.broker.ports.tcp as number;
  const connect = async (name: string) => {
    const c = await connectDevice(port(), "acme", acme.devices[name] as never);
    clients.push(c);
    return c;
  };

  it("log level: read and changed by a platform admin, at once, audited", async () => {
    expect((await ops.call("GET", "/api/v1/admin/log-level", { token: ops.admin })).body).toEqual({ level: "info" });
    // At info, connections are not logged.
    const before = await connect("d1");
    expect(ops.entries().some((e) => e.msg === "mqtt client connected")).toBe(false);

    const put = await ops.call("PUT", "/api/v1/admin/log-level", { token: ops.admin, body: { level: "debug" } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ level: "debug" });
    expect((await ops.call("GET", "/api/v1/admin/log-level", { token: ops.admin })).body).toEqual({ level: "debug" });
    await connect("d2");
    await until(() => ops.entries().some((e) => e.msg === "mqtt client connected"), 3000, "a debug connection log");
    const line = ops.entries().find((e) => e.msg === "mqtt client connected");
    expect(line).toMatchObject({ tenant: "acme", clientId: "d2", level: 20 });
    expect(ops.entries().find((e) => e.msg === "log level changed")).toMatchObject({ from: "info", to: "debug", actor: expect.stringMatching(/^user:/) });

    const audit = await ops.call("GET", "/api/v1/audit?resource=runtime", { token: ops.admin });
    expect(audit.body.items[0]).toMatchObject({ action: "runtime.log-level", before: { level: "info" }, after: { level: "debug" } });
    await before.endAsync();
  });

  it("log level: 400 for an unknown level or extra fields, 403 for a tenant admin, 401 without a token", async () => {
    const bad = await ops.call("PUT", "/api/v1/admin/log-level", { token: ops.admin, body: { level: "loud" } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    expect(bad.body.errors[0].path).toBe("level");
    expect((await ops.call("PUT", "/api/v1/admin/log-level", { token: ops.admin, body: { level: "info", extra: 1 } })).status).toBe(400);
    expect((await ops.call("PUT", "/api/v1/admin/log-level", { token: tenantAdmin, body: { level: "trace" } })).status).toBe(403);
    expect((await ops.call("GET", "/api/v1/admin/log-level", { token: tenantAdmin })).status).toBe(403);
    expect((await ops.call("PUT", "/api/v1/admin/log-level", { body: { level: "trace" } })).status).toBe(401);
    expect((await ops.call("GET", "/api/v1/admin/log-level", { token: ops.admin })).body).toEqual({ level: "debug" });
  });

  it("reload applies what needs no restart to new connections, lists what does, and is audited", async () => {
    const old = await connect("d1");
    expect(connackOf(old).properties?.maximumPacketSize).toBe(1000);
    // Anonymous clients from loopback are allowed by default.
    await closeAll(await connectRaw(port(), {}));

    ops.writeConfig({ maxPacketSize: 2000, receiveMaximum: 7, logLevel: "warn", anonymous: "off", sysInterval: 3, wsPath: "/elsewhere", durability: "commit" });
    const r = await ops.call("POST", "/api/v1/admin/config/reload", { token: ops.admin });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      applied: { maxPacketSize: 2000, receiveMaximum: 7, logLevel: "warn", anonymous: "off", sysInterval: 3 },
      restartRequired: ["durability", "wsPath"],
    });

    // New connections get the new limits; the connected client keeps its own.
    const fresh = await connectRaw(port(), { clientId: "d2", username: `${acme.devices.d2?.username}@acme`, password: acme.devices.d2?.password });
    clients.push(fresh);
    expect(connackOf(fresh).properties?.maximumPacketSize).toBe(2000);
    expect(connackOf(fresh).properties?.receiveMaximum).toBe(7);
    expect(connackOf(old).properties?.maximumPacketSize).toBe(1000);
    expect(await refusal(connectRaw(port(), {}))).toBe(0x87);

    const current = await ops.call("GET", "/api/v1/admin/config", { token: ops.admin });
    expect(current.body.settings).toMatchObject({ maxPacketSize: 2000, receiveMaximum: 7, logLevel: "warn", anonymous: "off", sysInterval: 3 });
    expect(current.body.settings).not.toHaveProperty("wsPath");
    expect((await ops.call("GET", "/api/v1/admin/log-level", { token: ops.admin })).body).toEqual({ level: "warn" });

    const audit = await ops.call("GET", "/api/v1/audit?resource=runtime", { token: ops.admin });
    expect(audit.body.items[0]).toMatchObject({
      action: "runtime.config-reload",
      before: { maxPacketSize: 1000, receiveMaximum: 1024, logLevel: "debug", anonymous: "local", sysInterval: 10 },
      after: { maxPacketSize: 2000, restartRequired: ["durability", "wsPath"] },
    });
    // Warn level: the restart-required note is logged, the info line is not.
    expect(ops.entries().find((e) => e.msg === "changed settings that apply only after a restart were not applied")).toMatchObject({ settings: ["durability", "wsPath"] });
  });

  it("an invalid file is refused with 400 naming the setting; the running configuration stays", async () => {
    ops.writeConfig({ maxPacketSize: -5, receiveMaximum: 9 });
    const r = await ops.call("POST", "/api/v1/admin/config/reload", { token: ops.admin });
    expect(r.status).toBe(400);
    expect(r.body.detail).toContain("HALYARD_MAX_PACKET_SIZE");
    ops.writeConfig('{"maxPacketSize": 3000, "adminPassword": "do-not-echo-this-secret"');
    const broken = await ops.call("POST", "/api/v1/admin/config/reload", { token: ops.admin });
    expect(broken.status).toBe(400);
    expect(broken.body.detail).toContain("not valid JSON");
    expect(JSON.stringify(broken.body)).not.toContain("do-not-echo-this-secret");
    ops.writeConfig({ receiveMaximum: 70000 });
    expect((await ops.call("POST", "/api/v1/admin/config/reload", { token: ops.admin })).status).toBe(400);

    const current = await ops.call("GET", "/api/v1/admin/config", { token: ops.admin });
    expect(current.body.settings).toMatchObject({ maxPacketSize: 2000, receiveMaximum: 7 });
    const refusedLogs = ops.entries().filter((e) => e.msg === "configuration reload refused; the running configuration is kept");
    expect(refusedLogs.length).toBe(3);
    expect(refusedLogs[0]).toMatchObject({ level: 50, via: "api" });
    expect(ops.logs()).not.toContain("do-not-echo-this-secret");
  });

  it("reload: 403 for a tenant admin, 401 without a token", async () => {
    expect((await ops.call("POST", "/api/v1/admin/config/reload", { token: tenantAdmin })).status).toBe(403);
    expect((await ops.call("GET", "/api/v1/admin/config", { token: tenantAdmin })).status).toBe(403);
    expect((await ops.call("POST", "/api/v1/admin/config/reload")).status).toBe(401);
  });
});
