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

export interface Decision<R extends RuleInput = RuleInput> {
  allowed: boolean;
  /** The rule that decided, or undefined when nothing matched (default deny). */
  rule: R | undefined;
}

/** What `explain` answers: the decision plus where the deciding rule sits and what it became. */
export interface Explanation<R extends RuleInput = RuleInput> extends Decision<R> {
  /** The deciding rule's filter with `${clientid}`/`${username}` substituted; undefined when nothing matched. */
  filter: string | undefined;
  /** Position of the deciding rule in evaluation order (after sorting and dropping unusable rules). */
  position: number | undefined;
}

/** "deliver" is the per-message check of a delivery against the subscribe rules (see `deliver`). */
export type CheckAction = Action | "deliver";

interface CompiledRule<R extends RuleInput> {
  source: R;
  filter: string;
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

/**
 * `R` lets callers attach their own facts to rules (which role, which
 * binding) and get them back, typed, from the decision.
 */
export class CompiledAcl<R extends RuleInput = RuleInput> {
  private readonly rules: CompiledRule<R>[];
  private readonly publishCache = new Map<string, Decision<R>>();
  private readonly deliverCache = new Map<string, Decision<R>>();
  /**
   * Whether any subscribe deny rule exists, i.e. whether deliveries need a
   * per-message check. Computed once: it is read for every delivered message.
   */
  readonly hasSubscribeDenies: boolean;

  constructor(rules: R[], vars: { clientid: string; username: string }) {
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
        filter,
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
  publish(topic: string): Decision<R> {
    return this.decide(topic, true, this.publishCache);
  }

  /** May the device subscribe to this filter (without `$share/<group>/`)? */
  subscribe(filter: string): Decision<R> {
    const i = this.coveringRule(filter);
    const rule = i < 0 ? undefined : this.rules[i];
    return rule ? { allowed: rule.allow, rule: rule.source } : { allowed: false, rule: undefined };
  }

  /** May a message on this topic be delivered to the device (its subscribe rules, per topic)? */
  deliver(topic: string): Decision<R> {
    return this.decide(topic, false, this.deliverCache);
  }

  /**
   * The same answer as `publish`, `subscribe` or `deliver`, found by the same
   * matching code (never a second implementation that could drift), plus the
   * deciding rule's expanded filter and position. Bypasses the caches: it
   * serves people asking "why", not the hot path.
   */
  explain(action: CheckAction, topic: string): Explanation<R> {
    const i = action === "subscribe" ? this.coveringRule(topic) : this.matchingRule(topic.split("/"), action === "publish");
    const rule = i < 0 ? undefined : this.rules[i];
    if (!rule) return { allowed: false, rule: undefined, filter: undefined, position: undefined };
    return { allowed: rule.allow, rule: rule.source, filter: rule.filter, position: i };
  }

  /**
   * First match over the ordered rules for a topic name, remembered (the
   * compiled ACL is rebuilt, not mutated, when rules change, so the cache
   * never goes stale).
   */
  private decide(topic: string, publish: boolean, cache: Map<string, Decision<R>>): Decision<R> {
    const known = cache.get(topic);
    if (known) return known;
    const i = this.matchingRule(topic.split("/"), publish);
    const rule = i < 0 ? undefined : this.rules[i];
    const decision: Decision<R> = rule ? { allowed: rule.allow, rule: rule.source } : { allowed: false, rule: undefined };
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(topic, decision);
    return decision;
  }

  /**
   * Index of the first publish (or subscribe, for deliveries) rule matching a
   * topic name split into levels, or -1. Rules whose literal first level
   * differs are skipped without matching.
   */
  private matchingRule(levels: string[], publish: boolean): number {
    const first = levels[0];
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i] as CompiledRule<R>;
      if (!(publish ? rule.publish : rule.subscribe)) continue;
      if (rule.first !== undefined && rule.first !== first) continue;
      if (levelsMatch(rule.levels, levels)) return i;
    }
    return -1;
  }

  /** Index of the first subscribe rule covering a requested filter, or -1. */
  private coveringRule(filter: string): number {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i] as CompiledRule<R>;
      if (rule.subscribe && filterCovers(rule.levels, filter)) return i;
    }
    return -1;
  }
}
