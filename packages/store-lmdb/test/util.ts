import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Message, StoredMessage } from "@halyard/engine";
import { LmdbStore, type Durability } from "../src/index.ts";

/** A fresh directory under the OS temp dir; remove it with `removeDir`. */
export function tempDir(prefix = "halyard-lmdb-"): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const MAX_BYTES = 256 * 1024 * 1024;

export function openLmdb(dir: string, durability: Durability = "fsync"): LmdbStore {
  return LmdbStore.open({ dir, durability, maxBytes: MAX_BYTES });
}

/** Every byte value once, then a run of random-looking bytes: catches any text re-encoding. */
export function binaryPayload(extra = 0): Buffer {
  const b = Buffer.alloc(256 + extra);
  for (let i = 0; i < b.length; i++) b[i] = i < 256 ? i : (i * 7919) & 0xff;
  return b;
}

/** A stored message with every field set to a non-default value unless overridden. */
export function storedMessage(over: Partial<StoredMessage> = {}): StoredMessage {
  return {
    topic: "t/ü/€",
    payload: binaryPayload(),
    qos: 2,
    retain: true,
    properties: {
      payloadFormatIndicator: false,
      messageExpiryInterval: 3600,
      contentType: "application/octet-stream; ü",
      responseTopic: "reply/€/x",
      correlationData: Buffer.from([0, 255, 1, 254, 0]),
      userProperties: { a: "1", multi: ["x", "y", ""], "ü €": "" },
    },
    expiresAt: 1_900_000_000_123,
    senderId: "tenant/\u0000pub",
    ...over,
  };
}

/** A routed Message (what RetainedStore.set receives). */
export function message(over: Partial<StoredMessage> = {}): Message {
  return { ...storedMessage(), ...over };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns true, failing with `what` after `timeoutMs`. */
export async function until(fn: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
