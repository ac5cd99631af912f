import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, maskUrlCredentials, REDACT_PATHS } from "./logger.ts";

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

  it("masks credentials inside URLs in logged errors, and the database URL and master key fields", () => {
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger("info", false, sink);
    const err = new Error("connect failed for postgres://halyard:pg-s3cret@db.internal:5432/halyard");
    log.error({ err, config: { databaseUrl: "postgres://u:other-s3cret@h/db", secretKey: "k".repeat(64) } }, "database unavailable");
    expect(out).not.toContain("pg-s3cret");
    expect(out).not.toContain("other-s3cret");
    expect(out).not.toContain("k".repeat(64));
    expect(out).toContain("postgres://halyard:[redacted]@db.internal:5432/halyard");
    expect(maskUrlCredentials("mqtts://dev:pw@broker, https://example.com/a@b")).toBe("mqtts://dev:[redacted]@broker, https://example.com/a@b");
  });
});
