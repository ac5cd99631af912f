import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretBox } from "./secret-box.ts";

describe("SecretBox", () => {
  it("round-trips, never stores plaintext, and detects tampering", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("-----BEGIN PRIVATE KEY-----abc");
    expect(sealed).not.toContain("PRIVATE KEY");
    expect(box.open(sealed)).toBe("-----BEGIN PRIVATE KEY-----abc");
    const raw = Buffer.from(sealed.slice(3), "base64");
    raw[raw.length - 1] = (raw[raw.length - 1] as number) ^ 1;
    expect(() => box.open("v1:" + raw.toString("base64"))).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow();
  });
});
