import { uuid } from "@halyard/api-contract";
import { describe, expect, it } from "vitest";
import { orderedRuleIds } from "./rule-ids.ts";

describe("orderedRuleIds", () => {
  it("gives valid, unique UUIDv7s that sort bytewise in batch order across counter carries", () => {
    const ids = orderedRuleIds(20_000);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [ids[0], ids[16_383], ids[16_384], ids[19_999]]) {
      expect(uuid.safeParse(id).success).toBe(true);
      expect(id?.[14]).toBe("7");
    }
    // Lowercase hex with fixed dashes sorts like the bytes Postgres compares.
    expect([...ids].sort()).toEqual(ids);
  });

  it("starts with the timestamp, so later batches sort after earlier ones", () => {
    const [a] = orderedRuleIds(1, 1_700_000_000_000);
    const [b] = orderedRuleIds(1, 1_700_000_000_001);
    expect((a as string) < (b as string)).toBe(true);
    expect((a as string).slice(0, 13)).toBe("018bcfe5-6800");
  });
});
