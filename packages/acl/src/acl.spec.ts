import { describe, expect, it } from "vitest";
import { CompiledAcl, filterCovers, type RuleInput } from "./acl.ts";

let n = 0;
const rule = (effect: "allow" | "deny", action: RuleInput["action"], topicFilter: string, priority = 100): RuleInput => ({
  id: `r${++n}`,
  effect,
  action,
  topicFilter,
  priority,
});
const vars = { clientid: "dev-1", username: "u1" };

describe("CompiledAcl", () => {
  it("denies by default", () => {
    const acl = new CompiledAcl([], vars);
    expect(acl.publish("a").allowed).toBe(false);
    expect(acl.subscribe("a/#").allowed).toBe(false);
    expect(acl.publish("a").rule).toBeUndefined();
  });

  it("first match by priority decides; at equal priority deny wins", () => {
    const deny = rule("deny", "publish", "factory/secret/#", 10);
    const allow = rule("allow", "publish", "factory/#", 20);
    const acl = new CompiledAcl([allow, deny], vars);
    expect(acl.publish("factory/zone1/t")).toEqual({ allowed: true, rule: allow });
    expect(acl.publish("factory/secret/x")).toEqual({ allowed: false, rule: deny });
    const tie = new CompiledAcl([rule("allow", "both", "x/#", 5), rule("deny", "both", "x/#", 5)], vars);
    expect(tie.publish("x/1").allowed).toBe(false);
  });

  it("substitutes ${clientid} and ${username}; unsafe values never match", () => {
    const acl = new CompiledAcl([rule("allow", "both", "devices/${clientid}/#"), rule("allow", "publish", "users/${username}/out")], vars);
    expect(acl.publish("devices/dev-1/telemetry").allowed).toBe(true);
    expect(acl.publish("devices/dev-2/telemetry").allowed).toBe(false);
    expect(acl.publish("users/u1/out").allowed).toBe(true);
    const sneaky = new CompiledAcl([rule("allow", "both", "devices/${clientid}/#")], { clientid: "#", username: "x" });
    expect(sneaky.publish("devices/anything/x").allowed).toBe(false);
    expect(sneaky.size).toBe(0);
    const slashy = new CompiledAcl([rule("allow", "both", "devices/${clientid}/#")], { clientid: "a/b", username: "x" });
    expect(slashy.publish("devices/a/b/x").allowed).toBe(false);
  });

  it("actions: publish-only rules do not grant subscribe and the reverse", () => {
    const acl = new CompiledAcl([rule("allow", "publish", "p/#"), rule("allow", "subscribe", "s/#")], vars);
    expect(acl.publish("p/1").allowed).toBe(true);
    expect(acl.subscribe("p/#").allowed).toBe(false);
    expect(acl.subscribe("s/+").allowed).toBe(true);
    expect(acl.publish("s/1").allowed).toBe(false);
  });

  it("subscribe needs a covering rule; partial-overlap denies apply per delivered topic", () => {
    const acl = new CompiledAcl([rule("deny", "subscribe", "secret/#", 1), rule("allow", "subscribe", "#", 2)], vars);
    expect(acl.subscribe("#").allowed).toBe(true);
    expect(acl.subscribe("secret/+").allowed).toBe(false);
    expect(acl.deliver("public/x").allowed).toBe(true);
    expect(acl.deliver("secret/x").allowed).toBe(false);
    expect(acl.hasSubscribeDenies).toBe(true);
  });

  it("$ topics are not granted by leading wildcards [MQTT-4.7.2-1]", () => {
    const acl = new CompiledAcl([rule("allow", "both", "#")], vars);
    expect(acl.publish("$SYS/x").allowed).toBe(false);
    expect(acl.subscribe("$SYS/#").allowed).toBe(false);
    expect(new CompiledAcl([rule("allow", "both", "$SYS/#")], vars).subscribe("$SYS/broker/+").allowed).toBe(true);
  });
});

describe("filterCovers", () => {
  it.each([
    ["a/#", "a/b/c", true],
    ["a/#", "a", true],
    ["a/#", "a/+/c", true],
    ["a/#", "a/#", true],
    ["a/+", "a/b", true],
    ["a/+", "a/+", true],
    ["a/+", "a/#", false],
    ["a/+", "a/b/c", false],
    ["a/b", "a/+", false],
    ["+/b", "a/b", true],
    ["#", "x/y", true],
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
  ])("rule %s covers %s: %s", (r, q, expected) => {
    expect(filterCovers(r.split("/"), q)).toBe(expected);
  });
});

describe("filterCovers is sound and complete on random filters", () => {
  it("covers(rule, request) iff every topic matching request matches rule (over a sampled topic space)", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const words = ["a", "b", "$x"];
    const topics: string[] = [];
    const build = (prefix: string[], depth: number) => {
      if (prefix.length > 0) topics.push(prefix.join("/"));
      if (depth === 0) return;
      for (const w of words) build([...prefix, w], depth - 1);
    };
    build([], 4);
    const randomFilter = () => {
      const len = 1 + rand(4);
      const levels: string[] = [];
      for (let i = 0; i < len; i++) {
        const last = i === len - 1;
        const k = rand(last ? 5 : 4);
        levels.push(k < 3 ? (words[k] as string) : k === 3 ? "+" : "#");
      }
      return levels.join("/");
    };
    const matches = (filter: string, topic: string) => new CompiledAcl([rule("allow", "publish", filter)], vars).publish(topic).allowed;
    for (let i = 0; i < 1500; i++) {
      const r = randomFilter();
      const q = randomFilter();
      const claimed = filterCovers(r.split("/"), q);
      const reachable = topics.filter((t) => matches(q, t));
      const actually = reachable.every((t) => matches(r, t));
      if (claimed) expect(actually, `${r} claimed to cover ${q}`).toBe(true);
      // Completeness where the sample can tell: if every sampled topic of q matches r and q reaches
      // topics at every depth r distinguishes, covers should say so.
      if (!claimed && actually && reachable.length > 0 && !q.includes("#") && !r.includes("$x") && !q.startsWith("$")) {
        expect.soft(claimed, `${r} should cover ${q}`).toBe(true);
      }
    }
  });
});

describe("decision cache", () => {
  it("answers stay right across thousands of topics (beyond the cache bound) and per action", () => {
    const acl = new CompiledAcl([rule("deny", "publish", "x/secret/#", 1), rule("allow", "publish", "x/#", 2), rule("allow", "subscribe", "y/#", 3)], vars);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) {
        expect(acl.publish(`x/${i}`).allowed).toBe(true);
        expect(acl.publish(`x/secret/${i}`).allowed).toBe(false);
        expect(acl.deliver(`x/${i}`).allowed).toBe(false);
        expect(acl.deliver(`y/${i}`).allowed).toBe(true);
      }
    }
    expect(acl.publish("x/secret/1").rule?.topicFilter).toBe("x/secret/#");
  });
});

describe("explain", () => {
  it("names the deciding rule, its expanded filter and its place in evaluation order, with the caller's own fields", () => {
    type Sourced = RuleInput & { roleName: string };
    const mine = (r: RuleInput, roleName: string): Sourced => ({ ...r, roleName });
    const deny = mine(rule("deny", "publish", "devices/${clientid}/secret/#", 10), "lockdown");
    const own = mine(rule("allow", "both", "devices/${clientid}/#", 20), "devices");
    const user = mine(rule("allow", "subscribe", "users/${username}/+", 20), "devices");
    const acl = new CompiledAcl<Sourced>([own, user, deny], vars);

    const denied = acl.explain("publish", "devices/dev-1/secret/key");
    expect(denied).toEqual({ allowed: false, rule: deny, filter: "devices/dev-1/secret/#", position: 0 });
    expect(denied.rule?.roleName).toBe("lockdown");
    expect(acl.explain("publish", "devices/dev-1/temp")).toEqual({ allowed: true, rule: own, filter: "devices/dev-1/#", position: 1 });
    expect(acl.explain("subscribe", "users/u1/+")).toEqual({ allowed: true, rule: user, filter: "users/u1/+", position: 2 });
    expect(acl.explain("deliver", "users/u1/inbox")).toMatchObject({ allowed: true, rule: user });
    // Publish-only deny does not apply to deliveries; the subscribe side of `own` decides.
    expect(acl.explain("deliver", "devices/dev-1/secret/key")).toMatchObject({ allowed: true, rule: own });
    expect(acl.explain("publish", "devices/dev-2/temp")).toEqual({ allowed: false, rule: undefined, filter: undefined, position: undefined });
  });

  it("positions count only usable rules (a rule whose placeholder value is unsafe is dropped)", () => {
    const unsafe = rule("allow", "publish", "devices/${clientid}/#", 1);
    const plain = rule("allow", "publish", "open/#", 2);
    const acl = new CompiledAcl([unsafe, plain], { clientid: "a+b", username: "u" });
    expect(acl.explain("publish", "open/x")).toEqual({ allowed: true, rule: plain, filter: "open/#", position: 0 });
    expect(acl.explain("publish", "devices/a+b/x").rule).toBeUndefined();
  });

  it("always agrees with publish, subscribe and deliver (random rules, topics and filters)", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const words = ["a", "b", "dev-1", "u1", "$x"];
    const level = (wild: boolean, last: boolean) => {
      const k = rand(wild ? (last ? 8 : 7) : 5);
      return k < 5 ? (words[k] as string) : k === 5 ? "${clientid}" : k === 6 ? "+" : "#";
    };
    const make = (wild: boolean, placeholders: boolean) => {
      const len = 1 + rand(4);
      const levels: string[] = [];
      for (let i = 0; i < len; i++) {
        let l = level(wild, i === len - 1);
        if (!placeholders && l === "${clientid}") l = "dev-1";
        if (!wild && (l === "+" || l === "#")) l = "a";
        levels.push(l);
      }
      return levels.join("/");
    };
    const effects = ["allow", "deny"] as const;
    const actions = ["publish", "subscribe", "both"] as const;
    for (let round = 0; round < 200; round++) {
      const rules = Array.from({ length: 1 + rand(8) }, () =>
        rule(effects[rand(2)] as "allow" | "deny", actions[rand(3)] as RuleInput["action"], make(true, true), rand(3) * 10),
      );
      const acl = new CompiledAcl(rules, vars);
      for (let i = 0; i < 30; i++) {
        const topic = make(false, false);
        const filter = make(true, false);
        for (const [action, decision, probe] of [
          ["publish", acl.publish(topic), topic],
          ["deliver", acl.deliver(topic), topic],
          ["subscribe", acl.subscribe(filter), filter],
        ] as const) {
          const e = acl.explain(action, probe);
          expect({ allowed: e.allowed, rule: e.rule }, `${action} ${probe}`).toEqual(decision);
        }
      }
    }
  });
});
