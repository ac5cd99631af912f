/// <reference lib="dom" />
/**
 * Signing in and out of the console: the local administrator (embedded
 * default), single sign-on through the Keycloak-shaped provider, the session
 * cookie's attributes, and RP-initiated logout ending the IdP session.
 */
import { expect, localSignIn, ssoSignIn, test } from "./fixtures.ts";
import { LOCAL_ADMIN, shot, users } from "./stack.ts";

test.describe("sign-in", () => {
  test("the login page offers single sign-on and the local administrator", async ({ page }) => {
    await page.goto("/t/acme/devices");
    // Not signed in: sent to the login page, remembering where to go back.
    await expect(page).toHaveURL(/\/login\?returnTo=%2Ft%2Facme%2Fdevices/);
    await expect(page.getByRole("heading", { name: "Sign in to the console" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Sign in with single sign-on" })).toBeVisible();
    await expect(page.getByLabel("Username")).toBeVisible();
    await page.screenshot({ path: shot("login") });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: shot("login-phone") });
  });

  test("local administrator: a wrong password shows an error, the right one signs in", async ({ page }) => {
    await localSignIn(page, "not-the-password");
    await expect(page).toHaveURL(/\/login\?error=bad-credentials/);
    await expect(page.getByRole("main").getByRole("alert")).toHaveText("Wrong username or password.");
    // Still signed out: a protected page sends us back here.
    await page.goto("/tenants");
    await expect(page).toHaveURL(/\/login/);

    await localSignIn(page, LOCAL_ADMIN.password);
    // The local administrator is a platform administrator: home is the platform overview.
    await expect(page).toHaveURL(/\/overview$/);
    await expect(page.getByRole("navigation", { name: "Platform" })).toBeVisible();
    await expect(page.getByText(LOCAL_ADMIN.username, { exact: true })).toBeVisible();
  });

  test("single sign-on: the session cookie is HttpOnly and SameSite=Lax", async ({ page, context, stack }) => {
    await ssoSignIn(page, users.platformAdmin);
    await expect(page).toHaveURL(/\/overview$/);
    await expect(page.getByText("Pat Admin")).toBeVisible();

    const consoleHost = new URL(stack.consoleUrl).hostname;
    const session = (await context.cookies(stack.consoleUrl)).filter((c) => c.name.startsWith("halyard_session"));
    expect(session.length, "session cookie chunks").toBeGreaterThan(0);
    for (const c of session) {
      expect(c, c.name).toMatchObject({ domain: consoleHost, path: "/", httpOnly: true, sameSite: "Lax", secure: false });
    }
    // HttpOnly for real: page scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain("halyard_session");
    // The pending-login cookie is gone after the callback.
    expect((await context.cookies(stack.consoleUrl)).map((c) => c.name)).not.toContain("halyard_oidc");
  });

  test("sign-out ends the IdP session: single sign-on asks for the password again", async ({ page, context, stack }) => {
    await ssoSignIn(page, users.platformAdmin);
    await expect(page).toHaveURL(/\/overview$/);

    // Control: while the IdP session lives, losing only the console's cookie signs in again silently.
    await context.clearCookies({ domain: new URL(stack.consoleUrl).hostname });
    await page.goto("/login");
    await page.getByRole("link", { name: "Sign in with single sign-on" }).click();
    await expect(page).toHaveURL(/\/overview$/);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login\?signedOut=1$/);
    await expect(page.getByRole("status")).toHaveText("You are signed out.");
    expect((await context.cookies(stack.consoleUrl)).filter((c) => c.name.startsWith("halyard_session") && c.value)).toEqual([]);

    await page.getByRole("link", { name: "Sign in with single sign-on" }).click();
    await expect(page.getByRole("heading", { name: "Sign in to your account" })).toBeVisible();
    expect(new URL(page.url()).origin).toBe(new URL(stack.issuer).origin);
    // And the console is really signed out.
    await page.goto("/overview");
    await expect(page).toHaveURL(/\/login/);
  });
});
