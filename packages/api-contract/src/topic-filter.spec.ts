import { describe, expect, it } from "vitest";
import { schemas } from "./index.ts";
import { ruleFilterProblem } from "./topic-filter.ts";

describe("rule topic filters", () => {
  it.each(["factory/#", "factory/+/temp", "devices/${clientid}/#", "users/${username}/+/cmd", "#", "$SYS/broker/load"])("accepts %s", (f) => {
    expect(ruleFilterProblem(f)).toBeUndefined();
  });
  it.each([
    ["a/#/b", /valid MQTT topic filter/],
    ["a/b#", /valid MQTT topic filter/],
    ["a+/b", /valid MQTT topic filter/],
    ["devices/${tenant}/x", /unknown variable \$\{tenant\}/],
    ["$share/g/a", /shared-subscription/],
    ["devices/${clientid", /unterminated variable/],
    ["devices/${clientid}/${", /unterminated variable/],
    ["", /valid MQTT topic filter/],
  ])("rejects %s", (f, why) => {
    expect(ruleFilterProblem(f)).toMatch(why);
  });
  it("a role body with a bad filter names the rule's path", () => {
    const r = schemas.createRole.safeParse({ name: "r", rules: [{ effect: "allow", action: "publish", topicFilter: "a/#/b" }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(["rules", 0, "topicFilter"]);
  });
  it("unknown fields are errors, not silently dropped", () => {
    const r = schemas.createDevice.safeParse({ clientId: "d1", colour: "red" });
    expect(r.success).toBe(false);
  });
});
