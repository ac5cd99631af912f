/**
 * Cost of a permission check against large roles: the matching rule last
 * (the worst case for first-match), for a device that publishes to a few
 * topics repeatedly (telemetry) and for one that never repeats a topic.
 * Run: npx tsx packages/acl/bench/acl.bench.ts
 */
import { CompiledAcl, type RuleInput } from "../src/acl.ts";

function rules(n: number): RuleInput[] {
  const out: RuleInput[] = [];
  for (let i = 0; i < n - 1; i++) out.push({ id: `r${i}`, effect: "allow", action: "both", topicFilter: `site/${i}/+/telemetry/#`, priority: 10 });
  out.push({ id: "last", effect: "allow", action: "both", topicFilter: "factory/+/machine/#", priority: 10 });
  return out;
}

function measure(label: string, acl: CompiledAcl, topics: string[], iterations: number): void {
  let allowed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (acl.publish(topics[i % topics.length] as string).allowed) allowed++;
  const ns = Number(process.hrtime.bigint() - t0);
  if (allowed !== iterations) throw new Error("expected every topic to be allowed");
  console.log(`${label.padEnd(46)} ${Math.round(iterations / (ns / 1e9)).toLocaleString().padStart(12)} checks/s  ${(ns / iterations).toFixed(0).padStart(7)} ns/check`);
}

const vars = { clientid: "dev-1", username: "u" };
for (const n of [1, 100, 1000]) {
  const repeating = Array.from({ length: 8 }, (_, i) => `factory/zone${i}/machine/temp`);
  measure(`${n} rules, 8 repeating topics`, new CompiledAcl(rules(n), vars), repeating, n === 1000 ? 200_000 : 1_000_000);
  const unique = Array.from({ length: 50_000 }, (_, i) => `factory/z${i}/machine/temp`);
  measure(`${n} rules, 50,000 distinct topics`, new CompiledAcl(rules(n), vars), unique, n === 1000 ? 100_000 : 500_000);
}
