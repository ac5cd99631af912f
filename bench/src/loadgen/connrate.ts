/**
 * Connection rate: TCP connect + CONNECT -> CONNACK, with `concurrency`
 * handshakes in progress at once. After its CONNACK a client sends
 * DISCONNECT and half-closes; the socket is forgotten once the broker closes
 * it (or destroyed after a grace period). Timeouts are enforced by one sweep
 * timer rather than a timer per connection, to keep the generator cheap: on
 * loopback the kernel runs most of the TCP handshake on the connecting core.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import { Histogram } from "../stats.ts";
import type { ConnRateResult, ConnRateScenario } from "../types.ts";
import { DISCONNECT, connectPacket, connectTemplate } from "./packets.ts";

const HANDSHAKE_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 2_000;
const SWEEP_MS = 250;

export async function runConnRate(
  host: string,
  port: number,
  tag: string,
  sc: ConnRateScenario,
): Promise<ConnRateResult> {
  const tpl = connectTemplate(`${tag}c`);
  const hist = new Histogram();
  let started = 0;
  let finished = 0;
  let failed = 0;
  let measured = 0;
  let tMeasure = 0;
  let tEnd = 0;
  let cpu0 = process.cpuUsage();
  /** Sockets still open -> deadline (handshake timeout, then close grace). */
  const open = new Map<net.Socket, { deadline: number; finish: (ok: boolean) => void }>();

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [socket, entry] of open) {
      if (now < entry.deadline) continue;
      entry.finish(false); // no-op if the handshake already completed
      socket.destroy();
      open.delete(socket);
    }
  }, SWEEP_MS);

  await new Promise<void>((resolveAll) => {
    const launch = (): void => {
      const i = started++;
      if (i === sc.warmup) {
        tMeasure = performance.now();
        cpu0 = process.cpuUsage();
      }
      const t0 = performance.now();
      const socket = net.connect({ host, port, noDelay: true });
      let header: Buffer | null = null;
      let settled = false;

      const finish = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        if (ok) {
          if (i >= sc.warmup) {
            hist.recordMs(performance.now() - t0);
            measured++;
          }
          socket.end(DISCONNECT);
          const entry = open.get(socket);
          if (entry) entry.deadline = performance.now() + CLOSE_GRACE_MS;
        } else {
          failed++;
          socket.destroy();
        }
        finished++;
        if (started < sc.total) launch();
        else if (finished === sc.total) {
          tEnd = performance.now();
          resolveAll();
        }
      };
      open.set(socket, { deadline: t0 + HANDSHAKE_TIMEOUT_MS, finish });

      socket.on("connect", () => socket.write(connectPacket(tpl, i)));
      socket.on("data", (chunk: Buffer) => {
        if (settled) return;
        header = header === null ? chunk : Buffer.concat([header, chunk]);
        if (header.length >= 4) finish(header[0] === 0x20 && header[3] === 0);
      });
      socket.on("error", () => finish(false));
      socket.on("close", () => {
        open.delete(socket);
        finish(false);
      });
    };
    for (let k = 0; k < Math.min(sc.concurrency, sc.total); k++) launch();
  });

  const cpu = process.cpuUsage(cpu0);
  const measuredMs = tEnd - tMeasure;
  // Give the broker a moment to close the remaining sockets, then force them.
  const deadline = performance.now() + CLOSE_GRACE_MS;
  while (open.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  clearInterval(sweep);
  for (const s of open.keys()) s.destroy();

  return {
    kind: "connrate",
    measured,
    measuredMs,
    connsPerSec: (measured / measuredMs) * 1000,
    failed,
    latency: hist.summary(),
    generatorCpuPct: ((cpu.user + cpu.system) / 1000 / measuredMs) * 100,
  };
}
