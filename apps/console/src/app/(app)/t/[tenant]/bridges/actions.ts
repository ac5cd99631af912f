"use server";
/**
 * Server actions of the bridges page. The API allows writes to tenant admins
 * only; the page offers the controls only to them.
 */
import { revalidatePath } from "next/cache";
import { api } from "@/lib/api.ts";
import { optional, runAction, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";
import { echo, type EchoState } from "@/components/parts/echo.ts";
import type { Bridge } from "@/lib/types.ts";

const FIELDS = ["name", "remoteUrl", "direction", "localFilter", "remotePrefix"];

function bridgePath(tenant: string, id: string): string {
  return tenantApi(tenant, `/bridges/${encodeURIComponent(id)}`);
}

export async function createBridge(_prev: ActionState, form: FormData): Promise<EchoState<Bridge>> {
  const tenant = str(form, "tenant");
  const body: Record<string, unknown> = {
    name: str(form, "name"),
    remoteUrl: str(form, "remoteUrl"),
    direction: str(form, "direction"),
    localFilter: str(form, "localFilter"),
  };
  // Not trimmed: a prefix is a topic fragment, and spaces are legal in topics.
  const prefix = form.get("remotePrefix");
  if (typeof prefix === "string" && prefix !== "") body.remotePrefix = prefix;
  const r = await runAction(() => api<Bridge>(tenantApi(tenant, "/bridges"), { method: "POST", body }), `Bridge ${str(form, "name")} created; it connects in a moment.`);
  if (r.ok) revalidatePath(`/t/${tenant}/bridges`);
  return echo(r, form, FIELDS);
}

/** Enables or disables one bridge (`enabled` is "true" or "false"). */
export async function setBridgeEnabled(_prev: ActionState, form: FormData): Promise<ActionState<Bridge>> {
  const tenant = str(form, "tenant");
  const enabled = str(form, "enabled") === "true";
  const name = optional(form, "name") ?? "Bridge";
  const r = await runAction(
    () => api<Bridge>(bridgePath(tenant, str(form, "bridgeId")), { method: "PATCH", body: { enabled } }),
    enabled ? `Bridge ${name} enabled.` : `Bridge ${name} disabled; nothing is forwarded until it is enabled again.`,
  );
  revalidatePath(`/t/${tenant}/bridges`);
  return r;
}

export async function deleteBridge(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const name = optional(form, "name") ?? "Bridge";
  const r = await runAction(() => api<void>(bridgePath(tenant, str(form, "bridgeId")), { method: "DELETE" }), `Bridge ${name} deleted.`);
  revalidatePath(`/t/${tenant}/bridges`);
  return r;
}
