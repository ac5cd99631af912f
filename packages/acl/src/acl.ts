/**
 * Topic permissions of one device, compiled from the rules of every role
 * bound to it (directly or through its groups).
 *
 * Semantics (documented for users in the README):
 * - Rules are ordered by priority (lower first); at equal priority deny
 *   comes before allow, then the order they were given. The first rule whose
 *   action and filter match decides; if none does, the answer is deny.
 * - `${clientid}` and `${username}` in a filter are replaced by the device's
 *   values. A value containing `+`, `#` or `/` would change the filter's
 *   structure, so a rule using such a value never matches.
 * - PUBLISH: the rule filter must match the topic name (MQTT matching,
 *   section 4.7, `$` topics not matched by leading wildcards).
 * - SUBSCRIBE: the rule filter must cover the requested filter: every topic
 *   the request can match, the rule matches too (`factory/#` covers
 *   `factory/+/temp`). A deny rule that covers the request refuses it.
 * - Delivery: a deny rule that only partly overlaps a granted subscription
 *   (allow `#`, deny `secret/#`) is enforced per message: each topic
 *   delivered is checked like a publish against the subscribe rules.
 */

export type Action = "publish" | "subscribe";
export type RuleAction = Action | "both";

export interface RuleInput {
  id: string;
  effect: "allow" | "deny";
  action: RuleAction;
  topicFilter: string;
  priority: number;
  /** Where the rule comes from, for "which rule decided" explanations. */
  roleId?: string;
  roleName?: string;
}

export interface Decision {
  allowed: boolean;
  /** The rule that decided, or undefined when nothing matched (default deny). */
  rule: RuleInput | undefined;
}

interface CompiledRule {
  source: RuleInput;
  allow: boolean;
  publish: boolean;
  subscribe: boolean;
  levels: string[];
  /** First level when it is a literal: a cheap pre-filter before full matching. */
  first: string | undefined;
}

/** Decisions remembered per topic; devices publish to few topics, over and over. */
const CACHE_LIMIT = 1024;

const STRUCTURAL = /[+#/]/;

function expand(filter: string, vars: { clientid: string; username: string }): string | undefined {
  let ok = true;
  const out = filter.replace(/\$\{(clientid|username)\}/g, (_m, name: "clientid" | "username") => {
    const value = vars[name];
    if (value === "" || STRUCTURAL.test(value)) ok = false;
    return value;
  });
  return ok ? out : undefined;
}

/** MQTT filter matching on pre-split levels [MQTT-4.7.1, MQTT-4.7.2-1]. */
export function filterMatches(filterLevels: string[], topic: string): boolean {
  return levelsMatch(filterLevels, topic.split("/"));
}

function levelsMatch(filterLevels: string[], t: string[]): boolean {
  if ((t[0] as string).startsWith("$") && (filterLevels[0] === "+" || filterLevels[0] === "#")) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const f = filterLevels[i];
    if (f === "#") return true;
    if (i >= t.length) return false;
    if (f !== "+" && f !== t[i]) return false;
  }
  return filterLevels.length === t.length;
}

/** Whether every topic matched by `request` is matched by `rule` (both are filters). */
export function filterCovers(ruleLevels: string[], request: string): boolean {
  const r = request.split("/");
  if (request.startsWith("$") && (ruleLevels[0] === "+" || ruleLevels[0] === "#")) return false;
  for (let i = 0; i < ruleLevels.length; i++) {
    const f = ruleLevels[i];
    if (f === "#") return true;
    if (i >= r.length) return false;
    const q = r[i];
    if (q === "#") return false;
    if (f === "+") continue;
    if (q === "+" || q !== f) return false;
  }
  return ruleLevels.length === r.length;
}

export class CompiledAcl {
  private readonly rules: CompiledRule[];
  private readonly publishCache = new Map<string, Decision>();
  private readonly deliverCache = new Map<string, Decision>();
  /**
   * Whether any subscribe deny rule exists, i.e. whether deliveries need a
   * per-message check. Computed once: it is read for every delivered message.
   */
  readonly hasSubscribeDenies: boolean;

  constructor(rules: RuleInput[], vars: { clientid: string; username: string }) {
    const ordered = rules
      .map((r, index) => ({ r, index }))
      .sort((a, b) => a.r.priority - b.r.priority || (a.r.effect === b.r.effect ? 0 : a.r.effect === "deny" ? -1 : 1) || a.index - b.index);
    this.rules = [];
    for (const { r } of ordered) {
      const filter = expand(r.topicFilter, vars);
      if (filter === undefined) continue;
      const levels = filter.split("/");
      const first = levels[0] as string;
      this.rules.push({
        source: r,
        allow: r.effect === "allow",
        publish: r.action !== "subscribe",
        subscribe: r.action !== "publish",
        levels,
        first: first === "+" || first === "#" ? undefined : first,
      });
    }
    this.hasSubscribeDenies = this.rules.some((r) => r.subscribe && !r.allow);
  }

  get size(): number {
    return this.rules.length;
  }

  /** May the device publish to this topic name? */
  publish(topic: string): Decision {
    return this.decide(topic, true, this.publishCache);
  }

  /** May the device subscribe to this filter (without `$share/<group>/`)? */
  subscribe(filter: string): Decision {
    for (const rule of this.rules) {
      if (rule.subscribe && filterCovers(rule.levels, filter)) return { allowed: rule.allow, rule: rule.source };
    }
    return { allowed: false, rule: undefined };
  }

  /** May a message on this topic be delivered to the device (its subscribe rules, per topic)? */
  deliver(topic: string): Decision {
    return this.decide(topic, false, this.deliverCache);
  }

  /**
   * First match over the ordered rules for a topic name. The topic is split
   * once, rules whose literal first level differs are skipped without
   * matching, and the answer is remembered (the compiled ACL is rebuilt, not
   * mutated, when rules change, so the cache never goes stale).
   */
  private decide(topic: string, publish: boolean, cache: Map<string, Decision>): Decision {
    const known = cache.get(topic);
    if (known) return known;
    const levels = topic.split("/");
    const first = levels[0];
    let decision: Decision = { allowed: false, rule: undefined };
    for (const rule of this.rules) {
      if (!(publish ? rule.publish : rule.subscribe)) continue;
      if (rule.first !== undefined && rule.first !== first) continue;
      if (levelsMatch(rule.levels, levels)) {
        decision = { allowed: rule.allow, rule: rule.source };
        break;
      }
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(topic, decision);
    return decision;
  }


}
