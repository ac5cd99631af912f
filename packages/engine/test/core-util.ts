import type { BrokerOptions } from "../src/options.ts";
import { startBroker, type TestBroker } from "./harness.ts";

/** Protocol levels every core conformance test runs at: 3.1.1 and 5.0. */
export const VERSIONS = [4, 5] as const;
export type Version = (typeof VERSIONS)[number];

/** The test context part we need; use the context's own hook so concurrent tests clean up independently. */
export interface Finisher {
  onTestFinished(fn: () => unknown): void;
}

/** A broker for one test, closed (with all its clients and sockets) when the test finishes. */
export async function brokerFor(ctx: Finisher, options: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const t = await startBroker(options);
  ctx.onTestFinished(() => t.close());
  return t;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}
