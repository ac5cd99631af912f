"use server";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";
import { api, ApiError } from "@/lib/api.ts";
import { runAction, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";
import type { Binding, Role, TopicRule } from "@/lib/types.ts";
import type { RoleBody, RoleValidation } from "./role-types.ts";

/**
 * Server actions of the roles pages. Creating, editing and binding roles is a
 * tenant admin's job in the API; the pages only offer it to admins, and the
 * API refuses anyone else anyway.
 */

const templates: Record<string, TopicRule[]> = {
  empty: [],
  own: [
    { effect: "allow", action: "both", topicFilter: "devices/${clientid}/#", priority: 100 },
  ],
  telemetry: [
    { effect: "allow", action: "publish", topicFilter: "telemetry/${clientid}/#", priority: 100 },
    { effect: "allow", action: "subscribe", topicFilter: "commands/${clientid}/#", priority: 100 },
  ],
  readonly: [{ effect: "allow", action: "subscribe", topicFilter: "#", priority: 100 }],
};

export async function createRole(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const description = str(form, "description");
  const r = await runAction(
    () =>
      api<Role>(tenantApi(tenant, "/roles"), {
        method: "POST",
        body: { name: str(form, "name"), ...(description ? { description } : {}), rules: templates[str(form, "template")] ?? [] },
      }),
    "Role created.",
  );
  if (!r.ok || !r.data) return r;
  revalidatePath(`/t/${tenant}/roles`);
  redirect(`/t/${tenant}/roles/${(r.data as Role).id}?created=1`);
}

/** Parses the editor's JSON body; a malformed one is the console's bug, reported as such. */
function roleBody(form: FormData): RoleBody {
  return JSON.parse(str(form, "body")) as RoleBody;
}

export async function saveRole(_prev: ActionState, form: FormData): Promise<ActionState<Role>> {
  const tenant = str(form, "tenant");
  const id = str(form, "roleId");
  const body = roleBody(form);
  const r = await runAction(
    () =>
      api<Role>(tenantApi(tenant, `/roles/${encodeURIComponent(id)}`), {
        method: "PATCH",
        body: { name: body.name, description: body.description === "" ? null : body.description, rules: body.rules },
      }),
    "Role saved. Connected devices use the new rules from their next publish or subscribe.",
  );
  if (r.ok) {
    revalidatePath(`/t/${tenant}/roles`);
    revalidatePath(`/t/${tenant}/roles/${id}`);
  }
  return r;
}

/**
 * The broker's own check of an unsaved role (POST /roles/validate), called by
 * the editor while the user types. An unreachable or older broker is not an
 * error the user can act on: the answer is then simply "no server issues".
 */
export async function validateRole(tenant: string, roleId: string, body: RoleBody): Promise<RoleValidation | null> {
  try {
    return await api<RoleValidation>(tenantApi(tenant, "/roles/validate"), {
      method: "POST",
      query: { roleId },
      body: { name: body.name, ...(body.description ? { description: body.description } : {}), rules: body.rules },
    });
  } catch (err) {
    if (err instanceof ApiError) return null;
    throw err;
  }
}

export async function deleteRole(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "roleId");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/roles/${encodeURIComponent(id)}`), { method: "DELETE" }), "Role deleted.");
  if (!r.ok) return r;
  revalidatePath(`/t/${tenant}/roles`);
  redirect(`/t/${tenant}/roles?deleted=1`);
}

export async function createBinding(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const roleId = str(form, "roleId");
  const targetType = str(form, "targetType") === "group" ? "group" : "device";
  const targetId = str(form, "targetId");
  if (!targetId) {
    return { ok: false, message: `Choose a ${targetType} first.`, fieldErrors: { targetId: `Choose a ${targetType}.` }, at: Date.now() };
  }
  const r = await runAction(
    () => api<Binding>(tenantApi(tenant, "/bindings"), { method: "POST", body: { roleId, targetType, targetId } }),
    targetType === "device" ? "Role bound to the device." : "Role bound to the group.",
  );
  if (r.ok) {
    revalidatePath(`/t/${tenant}/roles`);
    revalidatePath(`/t/${tenant}/roles/${roleId}`);
  }
  return r;
}

export async function deleteBinding(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const roleId = str(form, "roleId");
  const r = await runAction(
    () => api<void>(tenantApi(tenant, `/bindings/${encodeURIComponent(str(form, "bindingId"))}`), { method: "DELETE" }),
    "Binding removed.",
  );
  if (r.ok) {
    revalidatePath(`/t/${tenant}/roles`);
    revalidatePath(`/t/${tenant}/roles/${roleId}`);
  }
  return r;
}
