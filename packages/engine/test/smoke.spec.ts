import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nextMessages, startBroker, type TestBroker } from "./harness.ts";

describe("smoke", () => {
  let t: TestBroker;
  beforeEach(async () => {
    t = await startBroker();
  });
  afterEach(async () => t.close());

  for (const protocolVersion of [4, 5] as const) {
    it(`routes QoS 0/1/2 at protocol level ${protocolVersion}`, async () => {
      const sub = await t.connect({ protocolVersion });
      const pub = await t.connect({ protocolVersion });
      await sub.subscribeAsync("a/+", { qos: 2 });
      const got = nextMessages(sub, 3);
      await pub.publishAsync("a/0", "zero", { qos: 0 });
      await pub.publishAsync("a/1", "one", { qos: 1 });
      await pub.publishAsync("a/2", "two", { qos: 2 });
      const msgs = await got;
      expect(msgs.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
        ["a/0", "zero", 0],
        ["a/1", "one", 1],
        ["a/2", "two", 2],
      ]);
    });
  }
});
