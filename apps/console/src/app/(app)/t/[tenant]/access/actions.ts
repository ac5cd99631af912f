"use server";
import type { z } from "zod";
import type { schemas } from "@halyard/api-contract";
import { api } from "@/lib/api.ts";
import { runAction, optional, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";

type AccessCheckResult = z.infer<typeof schemas.accessCheckResult>;

/**
 * POST /access-check: the broker answers from its own decision path (the
 * rules it would compile for the device), so this is what the device would
 * really get, with the rule that decided. Reads only: nothing to revalidate.
 */
export async function checkAccess(_prev: ActionState, form: FormData): Promise<ActionState<AccessCheckResult>> {
  const tenant = str(form, "tenant");
  const deviceId = str(form, "deviceId");
  if (!deviceId) return { ok: false, message: "Choose a device first.", fieldErrors: { deviceId: "Choose a device." }, at: Date.now() };
  const username = optional(form, "username");
  return runAction(() =>
    api<AccessCheckResult>(tenantApi(tenant, "/access-check"), {
      method: "POST",
      body: { deviceId, action: str(form, "action"), topic: String(form.get("topic") ?? ""), ...(username ? { username } : {}) },
    }),
  );
}
