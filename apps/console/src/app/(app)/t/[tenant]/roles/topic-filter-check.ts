/**
 * Client-side check of a rule's topic filter, run on every keystroke in the
 * role editor so mistakes show before the round trip to the broker. It mirrors
 * the API's `ruleFilterProblem` (api-contract/topic-filter.ts) but names the
 * exact mistake (which level, which character); the broker's
 * POST /roles/validate stays the authority and its answer is shown as well.
 */
const VARIABLES = ["${clientid}", "${username}"];
const VARIABLE = /\$\{([^}]*)\}/g;

export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return "Enter a topic filter, e.g. sensors/# or devices/${clientid}/#.";
  if (filter.length > 1024) return "A rule filter has at most 1024 characters.";
  for (const m of filter.matchAll(VARIABLE)) {
    if (!VARIABLES.includes(m[0])) return `Unknown placeholder ${m[0]}: use \${clientid} or \${username}.`;
  }
  const concrete = filter.replace(VARIABLE, "v");
  if (concrete.includes("${")) return "Unclosed placeholder: write ${clientid} or ${username}.";
  if (concrete.startsWith("$share/")) return "Write the plain filter: a rule for sub/# also covers $share/<group>/sub/#.";
  if (concrete.includes("\u0000")) return "A topic filter must not contain U+0000.";
  const levels = concrete.split("/");
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    const n = i + 1;
    if (level.includes("#")) {
      if (level !== "#") return `Level ${n} "${level}": # must stand alone in its level (e.g. sensors/#).`;
      if (i !== levels.length - 1) return `# may only be the last level (level ${n} of ${levels.length}).`;
    }
    if (level.includes("+") && level !== "+") return `Level ${n} "${level}": + must be a whole level (e.g. sensors/+/temp).`;
  }
  return undefined;
}

