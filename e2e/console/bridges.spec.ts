/// <reference lib="dom" />
/**
 * The bridges page against a real remote broker: the machine's Mosquitto on
 * 127.0.0.1:1883. The platform admin creates a bridge on the seeded tenant
 * (after a refused attempt whose field error shows next to the field), sees
 * the status reach "Connected" through the page's auto-refresh, checks with
 * the admin API that the broker really runs it, and deletes it again. A
 * unique remote prefix keeps repeated runs from meeting each other on
 * Mosquitto.
 */
import { randomUUID } from "node:crypto";
import { adminApi, expect, localSignIn, test } from "./fixtures.ts";
import { SEEDED_TENANT, shot } from "./stack.ts";

interface BridgeRow {
  id: string;
  name: string;
}

test("a platform admin bridges the seeded tenant to Mosquitto, sees it connected, and deletes it", async ({ page, stack }) => {
  const suffix = randomUUID().slice(0, 8);
  const name = `e2e-bridge-${suffix}`;
  const prefix = `halyard-e2e-${suffix}/`;

  await localSignIn(page);
  await expect(page).toHaveURL(/\/overview$/);
  await page.goto(`/t/${SEEDED_TENANT}`);
  await page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Bridges" }).click();
  await expect(page).toHaveURL(new RegExp(`/t/${SEEDED_TENANT}/bridges$`));
  await expect(page.getByRole("heading", { level: 1, name: "Bridges" })).toBeVisible();

  // Credentials in the URL are refused by the API; the message sits under the field and the input is kept.
  const form = page.getByRole("form", { name: "Create a bridge" });
  await form.getByLabel("Bridge name").fill(name);
  await form.getByLabel("Remote URL").fill("mqtt://user:secret@127.0.0.1:1883");
  await form.getByLabel("Direction").selectOption("both");
  await form.getByLabel("Local filter").fill("e2e/bridge/#");
  await form.getByLabel("Remote prefix (optional)").fill(prefix);
  await form.getByRole("button", { name: "Create bridge" }).click();
  await expect(form.getByText("must not contain credentials")).toBeVisible();
  await expect(form.getByLabel("Bridge name")).toHaveValue(name);

  await form.getByLabel("Remote URL").fill("mqtt://127.0.0.1:1883");
  await form.getByRole("button", { name: "Create bridge" }).click();
  await expect(form.getByRole("status")).toHaveText(`Bridge ${name} created; it connects in a moment.`);

  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row).toContainText("mqtt://127.0.0.1:1883");
  await expect(row).toContainText(prefix);
  // The page refreshes itself every 5 s; no reload here.
  await expect(row.getByText("Connected", { exact: true })).toBeVisible({ timeout: 20_000 });
  await page.screenshot({ path: shot("bridges"), fullPage: true });

  // Behind the browser's back: the broker runs it, with the fields the form sent.
  const api = await adminApi(stack);
  const list = await api.get<{ items: (BridgeRow & { remotePrefix: string | null; direction: string })[] }>(`/api/v1/tenants/${SEEDED_TENANT}/bridges`);
  const created = list.body.items.find((b) => b.name === name);
  expect(created, "the bridge in the API").toBeTruthy();
  expect(created).toMatchObject({ remotePrefix: prefix, direction: "both" });
  const status = await api.get<{ state: string }>(`/api/v1/tenants/${SEEDED_TENANT}/bridges/${created!.id}/status`);
  expect(status.body.state).toBe("connected");

  // Delete, after the confirmation dialog; the row goes and the notice says so.
  page.once("dialog", (d) => {
    expect(d.message()).toContain(`Delete the bridge ${name}?`);
    void d.accept();
  });
  await row.getByRole("button", { name: `Delete bridge ${name}` }).click();
  await expect(page.getByRole("status").filter({ hasText: `Bridge ${name} deleted.` })).toBeVisible();
  await expect(row).toHaveCount(0);
  const after = await api.get<unknown>(`/api/v1/tenants/${SEEDED_TENANT}/bridges/${created!.id}`);
  expect(after.status).toBe(404);
});
