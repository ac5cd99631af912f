/**
 * Idle connections for the memory-per-connection scenario: open N MQTT
 * connections, report "ready", keep them open until the runner says "close".
 */

import { performance } from "node:perf_hooks";
import type { IdleGenResult } from "../types.ts";
import { forEachLimit, openConn, type MqttConn } from "./conn.ts";
import { connectPacket, connectTemplate } from "./packets.ts";

export interface IdleHooks {
  onReady(connected: number, failed: number, connectMs: number): void;
  /** Resolves when the runner has taken its measurement. */
  waitForClose(): Promise<void>;
}

export async function runIdle(
  host: string,
  port: number,
  tag: string,
  count: number,
  concurrency: number,
  hooks: IdleHooks,
): Promise<IdleGenResult> {
  const tpl = connectTemplate(`${tag}i`);
  const conns: MqttConn[] = [];
  let failed = 0;
  let closing = false;
  let droppedWhileIdle = 0;
  const handler = {
    onClose: () => {
      if (!closing) droppedWhileIdle++;
    },
  };
  const t0 = performance.now();
  await forEachLimit(count, concurrency, async (i) => {
    try {
      conns.push(await openConn(host, port, connectPacket(tpl, i), handler, 30_000));
    } catch {
      failed++;
    }
  });
  const connectMs = performance.now() - t0;
  hooks.onReady(conns.length, failed, connectMs);
  await hooks.waitForClose();
  closing = true;
  for (const c of conns) c.destroy();
  return { kind: "idle", connected: conns.length, failed, droppedWhileIdle, connectMs };
}
