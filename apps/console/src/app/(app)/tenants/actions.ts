"use server";
import { revalidatePath } from "next/cache";
import { api } from "@/lib/api.ts";
import { runAction, str, type ActionState } from "@/lib/action.ts";
import { echo, type EchoState } from "@/components/parts/echo.ts";
import type { Tenant, TenantQuotas } from "@/lib/types.ts";

const quotaFields = ["maxConnections", "maxSubscriptionsPerClient", "maxMessagesPerSecond", "maxBytesPerSecond", "maxRetainedMessages", "maxQueuedMessages", "maxPacketSize"] as const;

/** Empty = unlimited (null); anything else must be a whole number, which the API validates. */
function quotasFrom(form: FormData): TenantQuotas {
  const q: Record<string, number | null> = {};
  for (const f of quotaFields) {
    if (!form.has(f)) continue;
    const v = str(form, f);
    q[f] = v === "" ? null : Number(v);
  }
  return q as TenantQuotas;
}

export async function createTenant(_prev: ActionState, form: FormData): Promise<EchoState> {
  const r = await runAction(
    () => api<Tenant>("/api/v1/tenants", { method: "POST", body: { slug: str(form, "slug"), name: str(form, "name"), quotas: quotasFrom(form) } }),
    "Tenant created.",
  );
  if (r.ok) revalidatePath("/tenants");
  return echo(r, form, ["slug", "name", ...quotaFields]);
}

export async function updateTenant(_prev: ActionState, form: FormData): Promise<ActionState> {
  const slug = str(form, "tenant");
  const body: Record<string, unknown> = { quotas: quotasFrom(form) };
  if (form.has("name")) body.name = str(form, "name");
  const r = await runAction(() => api<Tenant>(`/api/v1/tenants/${encodeURIComponent(slug)}`, { method: "PATCH", body }), "Saved.");
  if (r.ok) revalidatePath("/tenants");
  return r;
}

export async function setTenantStatus(form: FormData): Promise<void> {
  const slug = str(form, "tenant");
  await api<Tenant>(`/api/v1/tenants/${encodeURIComponent(slug)}`, { method: "PATCH", body: { status: str(form, "status") } });
  revalidatePath("/tenants");
}
