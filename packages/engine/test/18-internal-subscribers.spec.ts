import { describe, expect, it } from "vitest";
import type { Message, QoS } from "../src/message.ts";
import { allowAllHooks } from "../src/hooks.ts";
import { brokerFor, until } from "./core-util.ts";

/**
 * `Broker#subscribeInternal`: code in the broker's process (a bridge) gets
 * routed messages like a subscriber, with QoS downgrade, RETAIN as
 * published, No Local through `senderId`, the `$` rule inside a mount point,
 * and nothing left in flight; `unsubscribe` ends it.
 */

interface Got {
  topic: string;
  payload: string;
  qos: QoS;
  retain: boolean;
}

const collector = () => {
  const got: Got[] = [];
  const on = (m: Message, qos: QoS, retain: boolean) => got.push({ topic: m.topic, payload: m.payload.toString(), qos, retain });
  return { got, on };
};

const message = (topic: string, payload: string, qos: QoS = 0, senderId?: string): Message => ({
  topic,
  payload: Buffer.from(payload),
  qos,
  retain: false,
  properties: undefined,
  expiresAt: undefined,
  senderId,
});

describe("in-process subscribers (subscribeInternal)", () => {
  it("receives client publishes with QoS capped at its maximum and the RETAIN flag as published", async (ctx) => {
    const t = await brokerFor(ctx);
    const { got, on } = collector();
    t.broker.subscribeInternal("tele/#", on, { qos: 1 });
    const c = await t.connect();
    await c.publishAsync("tele/a", "q0", { qos: 0 });
    await c.publishAsync("tele/b", "q1", { qos: 1, retain: true });
    await c.publishAsync("tele/c", "q2", { qos: 2 });
    await c.publishAsync("other/x", "no", { qos: 1 });
    await until(() => got.length >= 3);
    expect(got).toEqual([
      { topic: "tele/a", payload: "q0", qos: 0, retain: false },
      { topic: "tele/b", payload: "q1", qos: 1, retain: true },
      { topic: "tele/c", payload: "q2", qos: 1, retain: false },
    ]);
    // Acknowledged as delivered: a QoS 1/2 delivery leaves nothing in flight.
    const sessions = [...t.broker.sessions.keys()];
    expect(sessions.some((k) => k.includes("internal"))).toBe(false);
  });

  it("overlapping matches give one callback; clients still receive alongside", async (ctx) => {
    const t = await brokerFor(ctx);
    const a = collector();
    const b = collector();
    t.broker.subscribeInternal("x/#", a.on);
    t.broker.subscribeInternal("x/+", b.on, { qos: 0 });
    const sub = await t.connect();
    await sub.subscribeAsync("x/y", { qos: 1 });
    const box: string[] = [];
    sub.on("message", (_topic, p) => box.push(p.toString()));
    t.broker.publishInternal(message("x/y", "m", 1));
    await until(() => box.length === 1);
    expect(a.got).toEqual([{ topic: "x/y", payload: "m", qos: 1, retain: false }]);
    expect(b.got).toEqual([{ topic: "x/y", payload: "m", qos: 0, retain: false }]);
  });

  it("No Local: a message published with the subscription's senderId is not delivered back to it", async (ctx) => {
    const t = await brokerFor(ctx);
    const self = collector();
    const other = collector();
    const mine = t.broker.subscribeInternal("loop/#", self.on, { noLocal: true });
    t.broker.subscribeInternal("loop/#", other.on);
    t.broker.publishInternal(message("loop/1", "from-me", 1, mine.senderId));
    t.broker.publishInternal(message("loop/2", "from-else", 1, "someone"));
    expect(self.got.map((g) => g.payload)).toEqual(["from-else"]);
    expect(other.got.map((g) => g.payload)).toEqual(["from-me", "from-else"]);
    // Without noLocal the same sender id is delivered (the test can fail).
    const plain = collector();
    const p = t.broker.subscribeInternal("loop/#", plain.on);
    t.broker.publishInternal(message("loop/3", "own", 0, p.senderId));
    expect(plain.got.map((g) => g.payload)).toEqual(["own"]);
  });

  it("inside a mount point, wildcards right after it do not match $ topics", async (ctx) => {
    const t = await brokerFor(ctx);
    const { got, on } = collector();
    t.broker.subscribeInternal("acme/#", on, { mountPoint: "acme/" });
    t.broker.publishInternal(message("acme/$internal/x", "hidden"));
    t.broker.publishInternal(message("acme/plain", "seen"));
    t.broker.publishInternal(message("globex/plain", "other-tenant"));
    expect(got.map((g) => g.payload)).toEqual(["seen"]);
    const explicit = collector();
    t.broker.subscribeInternal("acme/$internal/#", explicit.on, { mountPoint: "acme/" });
    t.broker.publishInternal(message("acme/$internal/x", "named"));
    expect(explicit.got.map((g) => g.payload)).toEqual(["named"]);
  });

  it("mounted clients' publishes arrive under their mount point", async (ctx) => {
    const t = await brokerFor(ctx, { hooks: { ...allowAllHooks, authenticate: (req) => ({ ok: true, mountPoint: `${req.username}/` }) } });
    const { got, on } = collector();
    t.broker.subscribeInternal("acme/#", on, { mountPoint: "acme/" });
    const acme = await t.connect({ username: "acme" });
    const globex = await t.connect({ username: "globex" });
    await globex.publishAsync("s/1", "g", { qos: 1 });
    await acme.publishAsync("s/1", "a", { qos: 1 });
    await until(() => got.length === 1);
    expect(got).toEqual([{ topic: "acme/s/1", payload: "a", qos: 1, retain: false }]);
  });

  it("unsubscribe stops delivery, is idempotent, and removes the route", async (ctx) => {
    const t = await brokerFor(ctx);
    const { got, on } = collector();
    const before = t.broker.stats.subscriptions;
    const s = t.broker.subscribeInternal("u/#", on);
    expect(t.broker.stats.subscriptions).toBe(before + 1);
    t.broker.publishInternal(message("u/1", "one", 1));
    s.unsubscribe();
    s.unsubscribe();
    t.broker.publishInternal(message("u/2", "two", 1));
    expect(got.map((g) => g.payload)).toEqual(["one"]);
    expect(t.broker.stats.subscriptions).toBe(before);
  });

  it("a throwing subscriber does not stop routing to others; bad filters are refused", async (ctx) => {
    const t = await brokerFor(ctx);
    const { got, on } = collector();
    t.broker.subscribeInternal("e/#", () => {
      throw new Error("boom");
    });
    t.broker.subscribeInternal("e/#", on);
    expect(t.broker.publishInternal(message("e/1", "ok", 1))).toBe(2);
    expect(got.map((g) => g.payload)).toEqual(["ok"]);
    for (const bad of ["a/#/b", "a+", "", "$share/g/x"]) expect(() => t.broker.subscribeInternal(bad, on)).toThrow(RangeError);
  });
});
