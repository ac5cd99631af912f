"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { api } from "@/lib/api.ts";
import { runAction, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";

/**
 * Clears the retained message of one topic (DELETE /retained?topic=);
 * operators and up. The row disappears, so the confirmation travels in the
 * URL (`?cleared=`), keeping the filter.
 */
export async function clearRetained(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const topic = String(form.get("topic") ?? "");
  const r = await runAction(() => api<void>(tenantApi(tenant, "/retained"), { method: "DELETE", query: { topic } }));
  revalidatePath(`/t/${tenant}/retained`);
  if (!r.ok) return r;
  const back = new URLSearchParams(str(form, "query"));
  back.set("cleared", topic);
  redirect(`/t/${tenant}/retained?${back.toString()}`);
}
