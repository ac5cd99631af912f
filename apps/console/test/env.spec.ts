import { describe, expect, it, vi } from "vitest";

describe("console configuration", () => {
  it("names the variable that is wrong", async () => {
    vi.resetModules();
    process.env.CONSOLE_API_URL = "not a url";
    const { env } = await import("../src/lib/env.ts");
    expect(() => env()).toThrow(/CONSOLE_API_URL/);
    delete process.env.CONSOLE_API_URL;
  });
  it("lists every variable it reads", async () => {
    const { consoleEnvNames } = await import("../src/lib/env.ts");
    expect(consoleEnvNames).toContain("CONSOLE_OIDC_ISSUER");
    expect(consoleEnvNames.every((n) => n.startsWith("CONSOLE_"))).toBe(true);
  });
});
