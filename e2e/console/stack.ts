/**
 * What the console end-to-end harness starts and the tests need to know about
 * it: fixed test identities (the Keycloak-shaped realm's users and the
 * console's client) and the addresses the global setup publishes to the
 * workers through E2E_CONSOLE_STACK.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const screenshotDir = path.join(repoRoot, "e2e/artifacts/screenshots");

/** Path of a committed screenshot, e.g. shot("dashboard-phone") → e2e/artifacts/screenshots/dashboard-phone.png. */
export function shot(name: string): string {
  return path.join(screenshotDir, `${name}.png`);
}

/** The tenant the flow test creates; the realm's tenant users are members of it by group. */
export const TENANT = "acme";
/** A tenant the global setup seeds through the API, for tests that need one independent of the flow test. */
export const SEEDED_TENANT = "globex";

export const users = {
  platformAdmin: { username: "platform-admin", password: "platform-admin-pass-1" },
  viewer: { username: "acme-viewer", password: "acme-viewer-pass-1" },
  operator: { username: "acme-operator", password: "acme-operator-pass-1" },
} as const;

export const LOCAL_ADMIN = { username: "admin", password: "e2e-local-admin-pass-1" };
export const CONSOLE_CLIENT = { clientId: "halyard-console", secret: "halyard-console-e2e-secret" };

export interface StackInfo {
  /** Console base URL (what the browser opens), e.g. http://localhost:41234. */
  consoleUrl: string;
  /** Broker admin API base URL. */
  apiUrl: string;
  mqttPort: number;
  wsPort: number;
  /** The realm's issuer, http://127.0.0.1:<port>/realms/halyard. */
  issuer: string;
}

export const STACK_ENV = "E2E_CONSOLE_STACK";

export function stackInfo(): StackInfo {
  const raw = process.env[STACK_ENV];
  if (!raw) throw new Error(`${STACK_ENV} is not set: run the console tests through playwright.config.ts (its global setup starts the stack)`);
  return JSON.parse(raw) as StackInfo;
}
