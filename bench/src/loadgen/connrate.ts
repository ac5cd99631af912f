/**
 * Connection rate: TCP connect + CONNECT -> CONNACK, `concurrency` handshakes
 * in progress at once. After its CONNACK a client sends DISCONNECT and waits
 * for the broker to close the socket (so TIME_WAIT lands on the broker side
 * and does not eat the generator's ephemeral ports).
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import { Histogram } from "../stats.ts";
import type { ConnRateResult, ConnRateScenario } from "../types.ts";
import { DISCONNECT, connectPacket, connectTemplate } from "./packets.ts";

const HANDSHAKE_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 2_000;

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
  const lingering = new Set<net.Socket>();

  await new Promise<void>((resolveAll) => {
    const launch = (): void => {
      const i = started++;
      if (i === sc.warmup) {
        tMeasure = performance.now();
        cpu0 = process.cpuUsage();
      }
      const t0 = performance.now();
      const socket = net.connect({ host, port, noDelay: true });
      lingering.add(socket);
      let header: Buffer | null = null;
      let settled = false;
      const timer = setTimeout(() => finish(false), HANDSHAKE_TIMEOUT_MS);

      const finish = (ok: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) {
          if (i >= sc.warmup) {
            hist.recordMs(performance.now() - t0);
            measured++;
          }
          socket.write(DISCONNECT);
          // The broker should close; force it if it does not.
          setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
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

      socket.on("connect", () => socket.write(connectPacket(tpl, i)));
      socket.on("data", (chunk: Buffer) => {
        if (settled) return;
        header = header === null ? chunk : Buffer.concat([header, chunk]);
        if (header.length >= 4) finish(header[0] === 0x20 && header[3] === 0);
      });
      socket.on("error", () => finish(false));
      socket.on("close", () => {
        lingering.delete(socket);
        finish(false);
      });
    };
    for (let k = 0; k < Math.min(sc.concurrency, sc.total); k++) launch();
  });

  const cpu = process.cpuUsage(cpu0);
  const measuredMs = tEnd - tMeasure;
  // Give the broker a moment to close the remaining sockets, then force them.
  const deadline = performance.now() + CLOSE_GRACE_MS;
  while (lingering.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const s of lingering) s.destroy();

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
