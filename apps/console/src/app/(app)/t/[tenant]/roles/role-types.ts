import type { z } from "zod";
import type { schemas } from "@halyard/api-contract";
import type { TopicRule } from "@/lib/types.ts";

/** What the role editor sends: the create/update body (rules in the order written). */
export interface RoleBody {
  name: string;
  description: string;
  rules: TopicRule[];
}

/** Answer of POST /roles/validate: `{ valid, issues: [{ path: "rules.2.topicFilter", message }] }`. */
export type RoleValidation = z.infer<typeof schemas.roleValidation>;

export const actionLabels: Record<TopicRule["action"], string> = {
  both: "Publish & subscribe",
  publish: "Publish",
  subscribe: "Subscribe",
};
