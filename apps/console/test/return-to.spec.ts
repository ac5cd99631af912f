import { describe, expect, it } from "vitest";
import { safeReturnTo } from "../src/lib/return-to.ts";

describe("safeReturnTo", () => {
  it("keeps same-origin paths", () => {
    expect(safeReturnTo("/t/acme/devices?q=1")).toBe("/t/acme/devices?q=1");
  });
  it.each(["https://evil.example", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", null, undefined])("refuses %s", (v) => {
    expect(safeReturnTo(v)).toBe("/");
  });
});
