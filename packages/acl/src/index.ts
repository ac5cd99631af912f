export { CompiledAcl, filterCovers, filterMatches, type Action, type CheckAction, type Decision, type Explanation, type RuleAction, type RuleInput } from "./acl.ts";
