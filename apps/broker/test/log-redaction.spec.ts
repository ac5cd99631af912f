import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "./api-harness.ts";
import { ADMIN_PASSWORD } from "./api-harness.ts";
import { closeAll, connectDevice, publish, provisionTenant, refusal, subscribe, until, type Client } from "./mqtt-tenant-kit.ts";
import { startOps, type OpsBroker } from "./ops-harness.ts";

/**
 * Secrets never reach the logs: the broker runs against a real Postgres
 * whose URL carries a password, with a master secret set, logging at
 * `trace` (everything) into a captured stream, while the test signs in with
 * passwords (right and wrong), creates credentials and an API key (shown
 * once in responses), calls the API with bearer tokens, and connects MQTT
 * devices with passwords (right and wrong). None of those strings may appear
 * anywhere in the output; the tenant and client ids must.
 */
describe("log redaction", () => {
  const DB_PASSWORD = "db-Pa55-s3cret-in-url";
  const SECRET_KEY = "ab".repeat(32);
  const WRONG_LOGIN = "Wr0ng-login-secret-xyz";
  const CHOSEN_DEVICE_PASSWORD = "Chosen-device-pass-77";
  const WRONG_MQTT_PASSWORD = "bad-mqtt-secret-99";
  let ops: OpsBroker;
  const secrets: string[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    ops = await startOps({ postgresPassword: DB_PASSWORD, env: { HALYARD_SECRET_KEY: SECRET_KEY }, logLevel: "trace" });
  }, 90_000);
  afterAll(async () => {
    await closeAll(...clients);
    await ops?.close();
  });

  it("passwords, tokens, API keys, the database URL's password and the master key never appear; tenant and client ids do", async () => {
    secrets.push(ADMIN_PASSWORD, DB_PASSWORD, SECRET_KEY, WRONG_LOGIN, CHOSEN_DEVICE_PASSWORD, WRONG_MQTT_PASSWORD, ops.admin);

    // Sign-in, right and wrong.
    expect((await ops.call("POST", "/api/v1/auth/token", { body: { username: "admin", password: ADMIN_PASSWORD } })).status).toBe(201);
    expect((await ops.call("POST", "/api/v1/auth/token", { body: { username: "admin", password: WRONG_LOGIN } })).status).toBe(401);

    // A tenant, a device with a generated credential (password in the response), and one with a chosen password.
    const acme = await provisionTenant(ops as unknown as Api, "acme", ["sensor-1"]);
    const generated = acme.devices["sensor-1"]?.password as string;
    secrets.push(generated);
    const device = await ops.call("POST", "/api/v1/tenants/acme/devices", { token: ops.admin, body: { clientId: "sensor-2" } });
    const chosen = await ops.call("POST", `/api/v1/tenants/acme/devices/${device.body.id}/credentials`, {
      token: ops.admin,
      body: { username: "sensor-2", password: CHOSEN_DEVICE_PASSWORD },
    });
    expect(chosen.status).toBe(201);
    await ops.call("POST", "/api/v1/tenants/acme/bindings", { token: ops.admin, body: { roleId: acme.roleId, targetType: "device", targetId: device.body.id } });

    // An API key (shown once) and an OIDC token, both used as bearer tokens.
    const key = await ops.call("POST", "/api/v1/tenants/acme/api-keys", { token: ops.admin, body: { name: "ci", role: "tenant_admin" } });
    expect(key.status).toBe(201);
    secrets.push(key.body.key);
    expect((await ops.call("GET", "/api/v1/tenants/acme/devices", { token: key.body.key })).status).toBe(200);
    const oidcToken = await ops.userToken("alice", ["/tenants/acme/tenant_admin"]);
    secrets.push(oidcToken);
    expect((await ops.call("GET", "/api/v1/tenants/acme/devices", { token: oidcToken })).status).toBe(200);
    expect((await ops.call("GET", "/api/v1/tenants/acme/devices", { headers: { authorization: "Bearer not-a-valid-token-secret-42" } })).status).toBe(401);
    secrets.push("not-a-valid-token-secret-42");

    // MQTT: both devices with their passwords, and a wrong password.
    const port = ops.broker.ports.tcp as number;
    const s1 = await connectDevice(port, "acme", acme.devices["sensor-1"] as never);
    const s2 = await connectDevice(port, "acme", { id: device.body.id, clientId: "sensor-2", username: "sensor-2", password: CHOSEN_DEVICE_PASSWORD });
    clients.push(s1, s2);
    expect(await subscribe(s2, "t/#")).toEqual([1]);
    expect(await publish(s1, "t/1", "hello", { qos: 1 })).toBe(0);
    expect(await refusal(connectDevice(port, "acme", { id: "", clientId: "sensor-1", username: "sensor-1", password: WRONG_MQTT_PASSWORD }))).toBe(0x86);
    await until(() => ops.entries().some((e) => e.msg === "mqtt connection refused"), 3000, "the refused connection's log line");

    const out = ops.logs();
    expect(out.length).toBeGreaterThan(1000);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(12);
      expect(out.includes(secret), `a secret of ${secret.length} characters is in the log`).toBe(false);
      // Nor a recognisable part of it (a JWT's signature, a key's random part).
      expect(out.includes(secret.slice(-12)), `the end of a secret is in the log`).toBe(false);
    }

    const entries = ops.entries();
    expect(entries.every((e) => typeof e.level === "number" && typeof e.time === "number" && e.service === "halyard-broker")).toBe(true);
    expect(entries.find((e) => e.msg === "mqtt client connected" && e.clientId === "sensor-1")).toMatchObject({ tenant: "acme", username: "sensor-1@acme" });
    expect(entries.find((e) => e.msg === "mqtt client connected" && e.clientId === "sensor-2")).toMatchObject({ tenant: "acme" });
    expect(entries.find((e) => e.msg === "mqtt connection refused")).toMatchObject({ tenant: "acme", clientId: "sensor-1", username: "sensor-1@acme", method: "password", reasonCode: 0x86 });
    const request = entries.find((e) => e.msg === "http request" && e.method === "POST" && String(e.path).endsWith("/credentials"));
    expect(request).toMatchObject({ tenant: "acme", status: 201, actor: expect.stringMatching(/^user:/) });
    expect(request).not.toHaveProperty("headers");
  });
});
