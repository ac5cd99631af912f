import { z } from "zod";
import { isValidTopicFilter } from "@halyard/engine/topic";

/**
 * Topic filters in permission rules. They follow MQTT filter syntax (section
 * 4.7) and may contain the variables `${clientid}` and `${username}`, which
 * are substituted per device when the rule is evaluated.
 */
export const RULE_VARIABLES = ["${clientid}", "${username}"] as const;

const VARIABLE = /\$\{([^}]*)\}/g;

export function ruleFilterProblem(filter: string): string | undefined {
  for (const m of filter.matchAll(VARIABLE)) {
    if (!RULE_VARIABLES.includes(m[0] as (typeof RULE_VARIABLES)[number])) {
      return `unknown variable ${m[0]}; use ${RULE_VARIABLES.join(" or ")}`;
    }
  }
  const concrete = filter.replace(VARIABLE, "v");
  // There is no escape for a literal "${", so an unclosed one is a typo, not a topic.
  if (concrete.includes("${")) return `unterminated variable; write ${RULE_VARIABLES.join(" or ")}`;
  if (concrete.startsWith("$share/")) return "shared-subscription prefixes are not rule filters; write the plain filter";
  if (!isValidTopicFilter(concrete)) return "not a valid MQTT topic filter (`+` and `#` must be whole levels, `#` last)";
  return undefined;
}

export const ruleTopicFilter = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((value, ctx) => {
    const issue = ruleFilterProblem(value);
    if (issue) ctx.addIssue({ code: "custom", message: issue });
  });
