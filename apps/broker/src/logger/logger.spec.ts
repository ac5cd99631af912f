import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { REDACT_PATHS } from "./logger.ts";

describe("logger redaction", () => {
  it("never writes passwords, tokens, API keys or private keys", () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = pino({ redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, sink);
    log.info({ password: "hunter2", client: { password: "p2", token: "t0k", apiKey: "k3y" }, req: { headers: { authorization: "Bearer abc" } }, privateKey: "-----BEGIN" }, "x");
    for (const secret of ["hunter2", "p2", "t0k", "k3y", "Bearer abc", "-----BEGIN"]) expect(out).not.toContain(secret);
    expect(out.match(/\[redacted\]/g)?.length).toBe(6);
  });
});
