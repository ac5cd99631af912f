export { CompiledAcl, filterCovers, filterMatches, type Action, type Decision, type RuleAction, type RuleInput } from "./acl.ts";
