/**
 * Playwright runs the console's end-to-end tests (console/*.spec.ts) in
 * Debian's Chromium (Playwright's own browser download does not work on these
 * machines). The global setup (console/harness.ts) starts the OIDC provider,
 * the broker process and the built console; tests share that one stack, so
 * they run one at a time.
 */
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "./console",
  testMatch: "**/*.spec.ts",
  globalSetup: "./console/harness.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  outputDir: "./test-results/playwright",
  reporter: [["list"], ["html", { open: "never", outputFolder: "./playwright-report" }]],
  use: {
    headless: true,
    viewport: { width: 1280, height: 800 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    actionTimeout: 10_000,
    navigationTimeout: 20_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
});
