/**
 * The story, end to end in a real browser against the real broker:
 * sign in through the Keycloak-shaped provider, create a tenant, a device, a
 * credential and a role; connect a real MQTT client (MQTT.js) with that
 * credential; publish; watch the dashboard counters move; revoke the
 * credential and see the client disconnected; a viewer cannot change
 * anything (no controls, and a replayed server action and a direct API call
 * are both refused).
 *
 * The tests run in order and build on each other (serial mode): a failure
 * stops the ones after it rather than letting them fail for the wrong reason.
 */
import mqtt, { type MqttClient } from "mqtt";
import type { Locator, Page } from "@playwright/test";
import { adminApi, expect, expectNoHorizontalOverflow, ssoSignIn, test, userAccessToken } from "./fixtures.ts";
import { TENANT, shot, users } from "./stack.ts";

test.describe.configure({ mode: "serial" });

const CLIENT_ID = "sensor-1";
const DESCRIPTION = "Boiler room temperature";
/** How device pickers name the device. */
const DEVICE_OPTION = `${CLIENT_ID} — ${DESCRIPTION}`;
const TOPIC = "factory/zone1/temp";

/** What earlier steps hand to later ones. */
const story: {
  password?: string;
  deviceUrl?: string;
  client?: MqttClient;
  publisher?: ReturnType<typeof setInterval>;
  received: number;
  /** The browser's own "Create device" server-action request, replayed later with other cookies. */
  createDeviceAction?: { url: string; headers: Record<string, string>; body: Buffer };
} = { received: 0 };

test.afterAll(async () => {
  clearInterval(story.publisher);
  await story.client?.endAsync(true).catch(() => undefined);
});

function stat(page: Page, name: string): Locator {
  return page.getByRole("region", { name, exact: true }).getByTestId("stat-value");
}

/** The unformatted figure of a dashboard stat card (`data-value`), NaN while it has none. */
async function statValue(page: Page, name: string): Promise<number> {
  const raw = await stat(page, name).getAttribute("data-value");
  return raw === null || raw === "" ? Number.NaN : Number(raw);
}

function withOtherClientId(body: Buffer, clientId: string): Buffer {
  const text = body.toString("latin1");
  expect(text, "the captured action carries the form's client id").toContain(CLIENT_ID);
  return Buffer.from(text.replaceAll(CLIENT_ID, clientId), "latin1");
}

test("a platform admin signs in with single sign-on and creates a tenant, a device, a credential and a role", async ({ page, stack }) => {
  test.setTimeout(90_000);

  await test.step("sign in through the IdP", async () => {
    await ssoSignIn(page, users.platformAdmin);
    await expect(page).toHaveURL(/\/overview$/);
    await expect(page.getByRole("heading", { level: 1, name: "Platform overview" })).toBeVisible();
  });

  await test.step("create the tenant", async () => {
    await page.getByRole("navigation", { name: "Platform" }).getByRole("link", { name: "Tenants" }).click();
    await expect(page).toHaveURL(/\/tenants$/);
    const form = page.getByRole("form", { name: "Create a tenant" });
    await form.getByLabel("Slug").fill(TENANT);
    await form.getByLabel("Name").fill("Acme Corp");
    await form.getByRole("button", { name: "Create tenant" }).click();
    await expect(form.getByRole("status")).toHaveText("Tenant created.");
    await expect(page.getByRole("link", { name: "Acme Corp" })).toBeVisible();

    // The same slug again: the API's conflict is shown, nothing crashes.
    await form.getByLabel("Slug").fill(TENANT);
    await form.getByLabel("Name").fill("Acme again");
    await form.getByRole("button", { name: "Create tenant" }).click();
    await expect(form.getByRole("alert")).toContainText(/exists|taken|already/i);
    await page.screenshot({ path: shot("tenants"), fullPage: true });
  });

  await test.step("create the device (a bad tag is refused first)", async () => {
    await page.getByRole("link", { name: "Acme Corp" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${TENANT}$`));
    await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Devices" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${TENANT}/devices$`));
    await expect(page.getByRole("heading", { name: "No devices yet" })).toBeVisible();

    const form = page.getByRole("form", { name: "Create a device" });
    await form.getByLabel("Client ID").fill(CLIENT_ID);
    await form.getByLabel("Description").fill(DESCRIPTION);
    await form.getByLabel("Tags").fill("zone1, not a tag!");
    await form.getByRole("button", { name: "Create device" }).click();
    await expect(form.getByRole("alert")).toBeVisible();
    await expect(form.getByText(/not a tag!/)).toBeVisible();
    const api = await adminApi(stack);
    expect((await api.get<{ total: number }>(`/api/v1/tenants/${TENANT}/devices`)).body.total).toBe(0);

    // The values typed are kept; fix the tag and submit, capturing the server-action request the browser sends.
    await expect(form.getByLabel("Client ID")).toHaveValue(CLIENT_ID);
    await form.getByLabel("Tags").fill("zone1, temperature");
    const request = page.waitForRequest((r) => r.method() === "POST" && r.headers()["next-action"] !== undefined);
    await form.getByRole("button", { name: "Create device" }).click();
    const sent = await request;
    const headers = await sent.allHeaders();
    story.createDeviceAction = {
      url: sent.url(),
      headers: Object.fromEntries(Object.entries(headers).filter(([k]) => !["cookie", "content-length", "host"].includes(k) && !k.startsWith(":"))),
      body: sent.postDataBuffer() ?? Buffer.alloc(0),
    };
    await expect(form.getByRole("status")).toContainText("Device created.");
    const row = page.getByRole("row").filter({ hasText: CLIENT_ID });
    await expect(row).toContainText("zone1");
    await page.screenshot({ path: shot("devices"), fullPage: true });
  });

  await test.step("create a credential: the password is shown once, with a copy button", async () => {
    await page.getByRole("link", { name: CLIENT_ID }).first().click();
    await expect(page.getByRole("heading", { level: 1, name: CLIENT_ID })).toBeVisible();
    story.deviceUrl = page.url();
    await expect(page.getByText("No credentials.")).toBeVisible();
    await page.getByRole("button", { name: "Create credential" }).click();
    const secret = page.locator(".secret");
    await expect(secret).toBeVisible();
    await expect(secret.getByRole("button", { name: /^Copy/ })).toBeVisible();
    const password = (await secret.locator("code").textContent())?.trim() ?? "";
    expect(password.length, "generated password").toBeGreaterThanOrEqual(16);
    story.password = password;
    await expect(page.getByText(`${CLIENT_ID}@${TENANT}`).first()).toBeVisible();
    await expect(page.getByRole("table", { name: "Credentials" }).getByRole("row").filter({ hasText: CLIENT_ID })).toContainText("Active");
    // The screenshot must not carry a live secret into the repository's artifacts.
    await page.screenshot({ path: shot("device"), fullPage: true, mask: [secret.locator("code"), page.locator(".snippet pre")], maskColor: "#cbd5e1" });
  });

  await test.step("create a role that allows factory/#, and bind it to the device", async () => {
    await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Roles & permissions" }).click();
    await expect(page.getByRole("heading", { name: "No roles yet" })).toBeVisible();
    await page.getByLabel("Role name").fill("factory-sensors");
    await page.getByRole("button", { name: "Create role" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${TENANT}/roles/[0-9a-f-]{36}`));

    await page.getByRole("button", { name: "Add rule" }).click();
    const rule = page.getByRole("group", { name: /^Rule 1/ });
    await rule.getByLabel("Effect").selectOption("allow");
    await rule.getByLabel("Action").selectOption("both");
    await rule.getByLabel("Topic filter").fill("factory/#");
    await page.getByRole("button", { name: "Save role" }).click();
    await expect(page.getByText("All changes saved.")).toBeVisible();

    await page.getByLabel("Device", { exact: true }).selectOption({ label: DEVICE_OPTION });
    await page.getByRole("button", { name: "Bind to device" }).click();
    const bindings = page.getByRole("region", { name: "Bindings" });
    await expect(bindings.getByRole("row").filter({ has: page.getByRole("link", { name: CLIENT_ID }) })).toContainText("Device");
    await expect(bindings.getByText("Not bound yet")).toHaveCount(0);
    await page.screenshot({ path: shot("roles"), fullPage: true });
  });

  await test.step("the access checker agrees: factory/… allowed, anything else denied", async () => {
    await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Access checker" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${TENANT}/access$`));
    const form = page.getByRole("form", { name: "What would the broker do?" });
    await form.getByLabel("Device").selectOption({ label: DEVICE_OPTION });
    await form.getByLabel("Action").selectOption("publish");
    await form.getByLabel("Topic", { exact: true }).fill(TOPIC);
    await form.getByRole("button", { name: "Check access" }).click();
    await expect(page.getByRole("heading", { name: "Allowed" })).toBeVisible();
    await page.screenshot({ path: shot("access"), fullPage: true });
    await form.getByLabel("Topic", { exact: true }).fill("office/door");
    await form.getByRole("button", { name: "Check access" }).click();
    await expect(page.getByRole("heading", { name: "Denied" })).toBeVisible();
  });
});

test("a real MQTT client connects with that credential and publishes; the dashboard counters move", async ({ page, stack }) => {
  expect(story.password, "the credential from the previous test").toBeTruthy();
  await ssoSignIn(page, users.platformAdmin, `/t/${TENANT}`);
  await expect(page).toHaveURL(new RegExp(`/t/${TENANT}$`));

  // Before anyone connects: zero connections and no traffic (from the first paint).
  await expect(stat(page, "Connections")).toHaveAttribute("data-value", "0");
  await expect.poll(() => statValue(page, "Messages in/s")).toBe(0);
  await expect(page.getByRole("status").filter({ hasText: "Live" })).toBeVisible();

  // A wrong password is refused.
  await expect(
    mqtt.connectAsync(`mqtt://127.0.0.1:${stack.mqttPort}`, {
      clientId: CLIENT_ID,
      username: `${CLIENT_ID}@${TENANT}`,
      password: "wrong-password-123",
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    }),
  ).rejects.toThrow();

  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.mqttPort}`, {
    clientId: CLIENT_ID,
    username: `${CLIENT_ID}@${TENANT}`,
    password: story.password,
    protocolVersion: 5,
    reconnectPeriod: 0,
  });
  story.client = client;
  // The role allows both ways: the device hears its own telemetry.
  await client.subscribeAsync("factory/#", { qos: 1 });
  client.on("message", () => story.received++);
  let n = 0;
  story.publisher = setInterval(() => {
    if (client.connected) client.publish(TOPIC, JSON.stringify({ t: 20 + (n++ % 5) }), { qos: 1 });
  }, 50);

  // The page is not reloaded: the live stream moves the figures.
  await expect(stat(page, "Connections")).toHaveAttribute("data-value", "1", { timeout: 15_000 });
  await expect.poll(() => statValue(page, "Messages in/s"), { timeout: 15_000 }).toBeGreaterThan(5);
  await expect.poll(() => statValue(page, "Messages out/s"), { timeout: 15_000 }).toBeGreaterThan(5);
  expect(story.received, "messages delivered back to the subscriber").toBeGreaterThan(0);
  await page.screenshot({ path: shot("dashboard"), fullPage: true });
  // The same live dashboard on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoHorizontalOverflow(page);
  await page.screenshot({ path: shot("dashboard-phone"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Connected clients" }).click();
  await expect(page.getByRole("row").filter({ hasText: CLIENT_ID })).toContainText("TCP");
  await page.screenshot({ path: shot("clients"), fullPage: true });

  // The platform view shows the tenant's traffic too.
  await page.getByRole("navigation", { name: "Platform" }).getByRole("link", { name: "Overview" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Live" })).toBeVisible();
  await expect.poll(() => statValue(page, "Messages in/s"), { timeout: 15_000 }).toBeGreaterThan(5);
  await expect(page.getByRole("row").filter({ hasText: "Acme Corp" })).toBeVisible();
  await page.screenshot({ path: shot("overview") });
});

test("revoking the credential disconnects the client", async ({ page, stack }) => {
  const client = story.client;
  expect(client?.connected, "the client from the previous test is connected").toBe(true);
  const closed = new Promise<number | undefined>((resolve) => {
    let reason: number | undefined;
    client!.once("disconnect", (p) => (reason = p.reasonCode));
    client!.once("close", () => resolve(reason));
  });

  await ssoSignIn(page, users.platformAdmin, new URL(story.deviceUrl!).pathname);
  await expect(page.getByText("Connected now")).toBeVisible();
  let question = "";
  page.once("dialog", (d) => {
    question = d.message();
    void d.accept();
  });
  await page.getByRole("table", { name: "Credentials" }).getByRole("button", { name: /^Revoke/ }).click();
  await expect(page.getByRole("table", { name: "Credentials" }).getByRole("row").filter({ hasText: CLIENT_ID })).toContainText("Revoked");
  expect(question).toContain("Revoke");

  // The broker drops the connection (v5 DISCONNECT 0x98: administrative action).
  const reason = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r("still connected after 10 s"), 10_000))]);
  expect(reason).toBe(0x98);
  clearInterval(story.publisher);
  await expect(page.getByText("Not connected")).toBeVisible({ timeout: 15_000 });

  // The password no longer works.
  await expect(
    mqtt.connectAsync(`mqtt://127.0.0.1:${stack.mqttPort}`, {
      clientId: CLIENT_ID,
      username: `${CLIENT_ID}@${TENANT}`,
      password: story.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    }),
  ).rejects.toThrow();

  await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Dashboard" }).click();
  await expect(stat(page, "Connections")).toHaveAttribute("data-value", "0", { timeout: 15_000 });
});

test("a viewer cannot change anything: no controls, and replayed actions and API calls are refused", async ({ page, browser, stack }) => {
  const api = await adminApi(stack);
  const deviceCount = async () => (await api.get<{ total: number }>(`/api/v1/tenants/${TENANT}/devices`)).body.total;

  await test.step("the viewer sees the tenant read-only", async () => {
    await ssoSignIn(page, users.viewer);
    // Not a platform admin: home is the tenant they belong to, without platform pages.
    await expect(page).toHaveURL(new RegExp(`/t/${TENANT}$`));
    await expect(page.getByRole("navigation", { name: "Platform" })).toHaveCount(0);
    await expect(page.getByText("viewer", { exact: true })).toBeVisible();

    await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Devices" }).click();
    await expect(page.getByRole("row").filter({ hasText: CLIENT_ID })).toBeVisible();
    await expect(page.getByRole("button", { name: "Create device" })).toHaveCount(0);
    await expect(page.getByRole("link", { name: "Import from CSV" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: /^(Delete|Disable|Enable)/ })).toHaveCount(0);

    await page.getByRole("link", { name: CLIENT_ID }).first().click();
    await expect(page.getByRole("heading", { level: 1, name: CLIENT_ID })).toBeVisible();
    await expect(page.getByRole("table", { name: "Credentials" })).toBeVisible();
    await expect(page.getByRole("button", { name: /^(Create credential|Revoke|Rotate|Delete|Disable|Enable|Save)/ })).toHaveCount(0);

    await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Roles & permissions" }).click();
    await expect(page.getByRole("link", { name: "factory-sensors" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Create role" })).toHaveCount(0);

    // Platform pages and other tenants do not exist for them.
    await page.goto("/tenants");
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Create tenant" })).toHaveCount(0);
    await page.goto("/t/globex/devices");
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
  });

  await test.step("a replayed server action is refused (and the same replay works for an admin)", async () => {
    const captured = story.createDeviceAction;
    expect(captured, "the create-device request captured in the first test").toBeTruthy();
    const before = await deviceCount();

    // Control: the admin's replay goes through, so the viewer's refusal below is the permission check.
    const adminContext = await browser.newContext({ baseURL: stack.consoleUrl });
    try {
      const adminPage = await adminContext.newPage();
      await ssoSignIn(adminPage, users.platformAdmin);
      const ok = await adminContext.request.post(captured!.url, { headers: captured!.headers, data: withOtherClientId(captured!.body, "replayed-by-admin") });
      expect(ok.status()).toBe(200);
      expect(await deviceCount()).toBe(before + 1);
    } finally {
      await adminContext.close();
    }

    const refused = await page.request.post(captured!.url, { headers: captured!.headers, data: withOtherClientId(captured!.body, "replayed-by-viewer") });
    expect(await refused.text()).toContain(`needs the operator role in tenant '${TENANT}'`);
    expect(await deviceCount()).toBe(before + 1);
    const list = await api.get<{ items: { clientId: string }[] }>(`/api/v1/tenants/${TENANT}/devices?q=replayed-by-viewer`);
    expect(list.body.items).toEqual([]);
  });

  await test.step("the viewer's own token is refused by the API for writes", async () => {
    const token = await userAccessToken(stack, users.viewer);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await call("GET", `/api/v1/tenants/${TENANT}/devices`)).status).toBe(200);
    expect((await call("POST", `/api/v1/tenants/${TENANT}/devices`, { clientId: "made-by-viewer" })).status).toBe(403);
    expect((await call("POST", `/api/v1/tenants/${TENANT}/roles`, { name: "viewer-role" })).status).toBe(403);
    expect((await call("POST", "/api/v1/tenants", { slug: "viewer-tenant", name: "Nope" })).status).toBe(403);
    // Another tenant does not exist for the viewer at all.
    expect((await call("GET", "/api/v1/tenants/globex/devices")).status).toBe(404);
  });
});

test("an operator manages devices but not roles", async ({ page }) => {
  await ssoSignIn(page, users.operator, `/t/${TENANT}/devices`);
  await expect(page.getByRole("button", { name: "Create device" })).toBeVisible();
  await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Roles & permissions" }).click();
  await expect(page.getByRole("link", { name: "factory-sensors" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create role" })).toHaveCount(0);
});
