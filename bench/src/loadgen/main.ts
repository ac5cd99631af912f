/**
 * Load generator process. Started by the runner (pinned to its own core with
 * taskset) with the job as JSON in argv[2]; reports progress and the result
 * over the IPC channel and exits. Exits on its own if the runner goes away.
 */

import type { GenMessage, LoadJob, RunnerMessage } from "../types.ts";
import { runConnRate } from "./connrate.ts";
import { runIdle } from "./idle.ts";
import { runThroughput } from "./throughput.ts";

let finished = false;

function send(msg: GenMessage): void {
  process.send?.(msg);
}

/** Send the final message and exit once it has been handed to the channel. */
function finish(msg: GenMessage, code: number): void {
  finished = true;
  if (process.send === undefined || !process.connected) process.exit(code);
  process.send(msg, undefined, {}, () => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined || process.send === undefined) {
    throw new Error("loadgen must be started by the bench runner (needs job JSON and an IPC channel)");
  }
  const job = JSON.parse(raw) as LoadJob;
  const { host, port, tag, scenario } = job;

  process.on("disconnect", () => {
    if (!finished) process.exit(2);
  });

  switch (scenario.kind) {
    case "throughput": {
      const result = await runThroughput(host, port, tag, scenario, {
        onMeasureStart: () => send({ type: "measure-start" }),
        onMeasureEnd: () => send({ type: "measure-end" }),
      });
      finish({ type: "result", result }, 0);
      break;
    }
    case "connrate": {
      const result = await runConnRate(host, port, tag, scenario);
      finish({ type: "result", result }, 0);
      break;
    }
    case "idle": {
      const closeRequested = new Promise<void>((resolve) => {
        process.on("message", (m: RunnerMessage) => {
          if (m.type === "close") resolve();
        });
      });
      const result = await runIdle(host, port, tag, job.connections ?? 0, scenario.concurrency, {
        onReady: (connected, failed, connectMs) => send({ type: "ready", connected, failed, connectMs }),
        waitForClose: () => closeRequested,
      });
      finish({ type: "result", result }, 0);
      break;
    }
  }
}

main().catch((err: unknown) => {
  finish({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 1);
});
