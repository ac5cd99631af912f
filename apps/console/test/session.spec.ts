import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";

const dataDir = mkdtempSync(path.join(tmpdir(), "console-session-"));

async function load(envOverrides: Record<string, string | undefined> = {}) {
  vi.resetModules();
  for (const [k, v] of Object.entries({ CONSOLE_DATA_DIR: dataDir, CONSOLE_SESSION_SECRET: undefined, CONSOLE_PUBLIC_URL: undefined, ...envOverrides })) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return import("../src/lib/session.ts");
}

function jar(cookies: { name: string; value: string }[]) {
  const map = new Map(cookies.filter((c) => c.value !== "").map((c) => [c.name, c.value]));
  return { get: (name: string) => (map.has(name) ? { value: map.get(name)! } : undefined) };
}

const bigToken = "x".repeat(2500);

describe("console session cookie", () => {
  beforeEach(() => vi.unstubAllEnvs());

  it("round-trips a Keycloak-sized session over several http-only chunks", async () => {
    const s = await load();
    const session = { kind: "oidc" as const, accessToken: bigToken, refreshToken: bigToken, idToken: bigToken, expiresAt: 123, name: "Alice" };
    const cookies = await s.sessionCookies(session);
    const used = cookies.filter((c) => c.value !== "");
    expect(used.length).toBeGreaterThan(1);
    for (const c of cookies) {
      expect(c.value.length).toBeLessThanOrEqual(3800);
      expect(c.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/" });
    }
    // Unused chunks are deleted (maxAge 0) so a shorter session never mixes with an older, longer one.
    expect(cookies.filter((c) => c.value === "").every((c) => c.options.maxAge === 0)).toBe(true);
    const back = await s.readSession(jar(cookies));
    expect(back).toMatchObject(session);
    // The cookie is encrypted: no token text is readable in it.
    expect(used.map((c) => c.value).join("")).not.toContain("xxxx");
  });

  it("rejects a tampered or truncated cookie", async () => {
    const s = await load();
    const cookies = await s.sessionCookies({ kind: "local", accessToken: "t", expiresAt: 1, name: "admin" });
    const first = cookies[0]!;
    const tampered = { ...first, value: first.value.slice(0, -3) + (first.value.endsWith("A") ? "BBB" : "AAA") };
    expect(await s.readSession(jar([tampered]))).toBeUndefined();
    expect(await s.readSession(jar([]))).toBeUndefined();
  });

  it("generates one key file (0600) shared by every bundle and restart, unless a secret is configured", async () => {
    const a = await load();
    const sealed = await a.seal({ hello: 1 }, 60);
    const file = path.join(dataDir, "session.key");
    expect(readFileSync(file, "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = await load(); // a fresh module instance, as in a separate Next bundle or after a restart
    expect(await b.unseal(sealed)).toMatchObject({ hello: 1 });
    const c = await load({ CONSOLE_SESSION_SECRET: "a-configured-secret-of-at-least-32-chars" });
    expect(await c.unseal(sealed)).toBeUndefined();
  });

  it("marks cookies Secure when the console is served over https", async () => {
    const s = await load({ CONSOLE_PUBLIC_URL: "https://console.example.com" });
    const [c] = await s.sessionCookies({ kind: "local", accessToken: "t", expiresAt: 1, name: "admin" });
    expect(c!.options.secure).toBe(true);
  });
});
