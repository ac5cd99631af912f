"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { api } from "@/lib/api.ts";
import { runAction, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";

/**
 * Disconnects a live MQTT client (v5 clients get DISCONNECT 0x98,
 * Administrative action); operators and up. On success the row is gone, so
 * the confirmation travels in the URL (`?disconnected=`), keeping the list's
 * search and page.
 */
export async function disconnectClient(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const clientId = String(form.get("clientId") ?? "");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/clients/${encodeURIComponent(clientId)}`), { method: "DELETE" }));
  revalidatePath(`/t/${tenant}/clients`);
  if (!r.ok) return r;
  const back = new URLSearchParams(str(form, "query"));
  back.set("disconnected", clientId);
  redirect(`/t/${tenant}/clients?${back.toString()}`);
}
