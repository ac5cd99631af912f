/// <reference lib="dom" />
/**
 * Shared pieces of the console tests: the `stack` fixture (addresses of what
 * the global setup started), sign-in helpers that go through the real login
 * pages (the console's and the IdP's), and a small admin-API client used only
 * to check, behind the browser's back, what the console really did.
 */
import { expect, test as base, type Page } from "@playwright/test";
import { CookieJar, browse, pkcePair } from "@halyard/oidc-testing";
import { CONSOLE_CLIENT, LOCAL_ADMIN, stackInfo, type StackInfo } from "./stack.ts";

export const test = base.extend<object, { stack: StackInfo }>({
  stack: [
    // eslint-disable-next-line no-empty-pattern -- Playwright's fixture signature
    async ({}, use) => {
      await use(stackInfo());
    },
    { scope: "worker" },
  ],
  baseURL: async ({ stack }, use) => {
    await use(stack.consoleUrl);
  },
});

export { expect };

/** Single sign-on through the provider's login form; ends back on the console. */
export async function ssoSignIn(page: Page, user: { username: string; password: string }, returnTo?: string): Promise<void> {
  await page.goto(returnTo ? `/login?returnTo=${encodeURIComponent(returnTo)}` : "/login");
  await page.getByRole("link", { name: "Sign in with single sign-on" }).click();
  // The realm's own page (Keycloak's element ids and labels).
  await expect(page.getByRole("heading", { name: "Sign in to your account" })).toBeVisible();
  await page.getByLabel("Username or email").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Sign In" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/realms/") && !u.pathname.startsWith("/api/auth") && !u.pathname.startsWith("/login"));
}

/** The local administrator form (the embedded default). */
export async function localSignIn(page: Page, password = LOCAL_ADMIN.password): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Username").fill(LOCAL_ADMIN.username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Admin-API client with the local administrator's token (verification only: the tests act through the UI). */
export async function adminApi(stack: StackInfo) {
  const res = await fetch(`${stack.apiUrl}/api/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(LOCAL_ADMIN),
  });
  expect(res.ok, `local admin token: HTTP ${res.status}`).toBe(true);
  const { accessToken } = (await res.json()) as { accessToken: string };
  return {
    token: accessToken,
    async get<T>(path: string): Promise<{ status: number; body: T }> {
      const r = await fetch(`${stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
      return { status: r.status, body: (await r.json().catch(() => undefined)) as T };
    },
  };
}

/**
 * Fails when the page scrolls sideways (phone layouts must wrap, or scroll
 * inside .table-wrap). Compares against clientWidth: on a mobile viewport
 * innerWidth grows with the overflowing content and would hide the problem.
 */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const r = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const scrollWidth = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
    // Elements past the right edge that a scroll box does not contain: outside .table-wrap, or
    // absolutely positioned (their containing block may lie outside the scroll box).
    const culprits = Array.from(document.querySelectorAll("body *"))
      .filter((e) => e.getBoundingClientRect().right > width + 1 && (!e.closest(".table-wrap") || getComputedStyle(e).position === "absolute"))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className ? "." + String(e.className).split(" ").join(".") : ""}`);
    return { width, scrollWidth, culprits };
  });
  expect(r.scrollWidth, `page is ${r.scrollWidth}px wide in a ${r.width}px viewport; sticking out: ${r.culprits.join(", ") || "?"}`).toBeLessThanOrEqual(r.width);
}

/**
 * A user's own access token, obtained the way the console obtains it
 * (Authorization Code + PKCE through the realm's login form, as the console's
 * client), for calling the admin API directly, without the console.
 */
export async function userAccessToken(stack: StackInfo, user: { username: string; password: string }): Promise<string> {
  const redirectUri = `${stack.consoleUrl}/api/auth/callback`;
  const { verifier, challenge } = pkcePair();
  const auth = new URL(`${stack.issuer}/protocol/openid-connect/auth`);
  auth.search = new URLSearchParams({
    client_id: CONSOLE_CLIENT.clientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: "openid",
    state: "e2e-state",
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  const jar = new CookieJar();
  const atCallback = (loc: string) => loc.startsWith(redirectUri);
  const form = await browse(jar, auth.href, {}, atCallback);
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(form.body)?.[1];
  expect(action, "the realm's login form").toBeTruthy();
  const done = await browse(jar, new URL(action!.replace(/&amp;/g, "&"), form.url).href, { method: "POST", body: new URLSearchParams(user) }, atCallback);
  const code = new URL(done.stoppedAt ?? "http://x/").searchParams.get("code");
  expect(code, "authorization code").toBeTruthy();
  const res = await fetch(`${stack.issuer}/protocol/openid-connect/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${CONSOLE_CLIENT.clientId}:${CONSOLE_CLIENT.secret}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code: code!, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  expect(res.status, "token endpoint").toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}
