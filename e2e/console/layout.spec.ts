/// <reference lib="dom" />
/**
 * The console on a phone and from the keyboard, on the tenant the global
 * setup seeded through the API (so these tests do not depend on the story
 * tests): no sideways page scrolling at 390 px, a working menu toggle, and a
 * keyboard-only path through the skip link and the main navigation.
 */
import { expect, expectNoHorizontalOverflow, localSignIn, test } from "./fixtures.ts";
import { SEEDED_TENANT, shot } from "./stack.ts";

const PHONE = { width: 390, height: 844 };

test.describe("phone width (390x844)", () => {
  test.use({ viewport: PHONE, hasTouch: true, isMobile: true });

  test("dashboard and devices render without horizontal page overflow", async ({ page }) => {
    await localSignIn(page);
    await expect(page).toHaveURL(/\/overview$/);
    await expectNoHorizontalOverflow(page);

    await page.goto(`/t/${SEEDED_TENANT}`);
    await expect(page.getByRole("region", { name: "Connections", exact: true })).toBeVisible();
    await expect(page.getByRole("status").filter({ hasText: "Live" })).toBeVisible();
    await expectNoHorizontalOverflow(page);

    await page.goto(`/t/${SEEDED_TENANT}/devices`);
    await expect(page.getByRole("heading", { level: 1, name: "Devices" })).toBeVisible();
    await expect(page.getByRole("link", { name: "globex-sensor-3-loading-dock-with-a-rather-long-name" })).toBeVisible();
    await page.screenshot({ path: shot("devices-phone"), fullPage: true });
    // Secondary columns are hidden at this width; the table scrolls inside its own box if it must.
    await expect(page.getByRole("columnheader", { name: "Created" })).toBeHidden();
    await expectNoHorizontalOverflow(page);
  });

  test("the navigation is behind a menu button that opens and closes it", async ({ page }) => {
    await localSignIn(page);
    await page.goto(`/t/${SEEDED_TENANT}`);
    const menu = page.getByRole("button", { name: "Menu" });
    const nav = page.getByRole("navigation", { name: "Tenant" });
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(nav).toBeHidden();
    await menu.click();
    await expect(menu).toHaveAttribute("aria-expanded", "true");
    await nav.getByRole("link", { name: "Devices" }).click();
    await expect(page).toHaveURL(new RegExp(`/t/${SEEDED_TENANT}/devices$`));
    // Choosing a page closes the menu again.
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(nav).toBeHidden();
    await expectNoHorizontalOverflow(page);
  });
});

test("keyboard only: skip link, then tab to the main navigation and activate a link", async ({ page }) => {
  await localSignIn(page);
  await page.goto(`/t/${SEEDED_TENANT}`);
  await expect(page.getByRole("region", { name: "Connections", exact: true })).toBeVisible();

  // The first stop is the skip link, which moves focus to the content.
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#content")).toBeFocused();

  // From the top again, Tab through the sidebar until the tenant navigation's "Devices" link has focus.
  await page.goto(`/t/${SEEDED_TENANT}`);
  const devices = page.getByRole("navigation", { name: "Tenant" }).getByRole("link", { name: "Devices" });
  let stops = 0;
  for (; stops < 25; stops++) {
    await page.keyboard.press("Tab");
    if (await devices.evaluate((el) => el === document.activeElement)) break;
  }
  expect(stops, "Tab presses to reach Devices in the tenant navigation").toBeLessThan(25);
  // Focus is visible (the design system draws a ring on :focus-visible).
  const ring = await devices.evaluate((el) => {
    const s = getComputedStyle(el);
    return { outline: s.outlineStyle, shadow: s.boxShadow, visible: el.matches(":focus-visible") };
  });
  expect(ring.visible).toBe(true);
  expect(ring.outline !== "none" || ring.shadow !== "none", `focus ring: ${JSON.stringify(ring)}`).toBe(true);

  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/t/${SEEDED_TENANT}/devices$`));
  await expect(page.getByRole("heading", { level: 1, name: "Devices" })).toBeVisible();
  await expect(devices).toHaveAttribute("aria-current", "page");
});
