import { describe, expect, it } from "vitest";
import { apiKeyMatches, generateApiKey, generatePassword, hashGeneratedSecret, hashPassword, parseApiKey, verifyPassword } from "./secrets.ts";

describe("secrets", () => {
  it("argon2id password hashes verify only the right password", async () => {
    const h = await hashPassword("correct horse battery");
    expect(h.startsWith("$argon2id$")).toBe(true);
    expect(h).not.toContain("correct horse");
    expect(await verifyPassword(h, "correct horse battery")).toBe(true);
    expect(await verifyPassword(h, "correct horse batterY")).toBe(false);
    expect(await verifyPassword("not-a-hash", "x")).toBe(false);
  });

  it("generated secrets get a salted fast hash that verifies only the right secret", async () => {
    const secret = generatePassword();
    const h = hashGeneratedSecret(secret);
    expect(h).toMatch(/^sha256\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(h).not.toContain(secret);
    expect(hashGeneratedSecret(secret)).not.toBe(h);
    expect(await verifyPassword(h, secret)).toBe(true);
    expect(await verifyPassword(h, secret + "x")).toBe(false);
    expect(await verifyPassword("sha256$zz", secret)).toBe(false);
  });

  it("generated passwords are 32 URL-safe characters and differ", () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(generatePassword()).not.toBe(a);
  });

  it("API keys parse by prefix and match only their own hash", () => {
    const k = generateApiKey();
    expect(parseApiKey(k.key)).toEqual({ prefix: k.prefix });
    expect(apiKeyMatches(k.key, k.keyHash)).toBe(true);
    expect(apiKeyMatches(generateApiKey().key, k.keyHash)).toBe(false);
    expect(parseApiKey("hyd_zz_x")).toBeUndefined();
    expect(k.keyHash).not.toContain(k.key.slice(17));
  });
});
