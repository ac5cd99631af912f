"use server";
/**
 * Server actions of the device pages: every mutation goes to the broker's
 * admin API with the user's own token (the API decides what the user may do;
 * the pages only hide what it would refuse). Secrets the API returns once
 * (passwords, generated private keys) travel back to the form that asked and
 * are never stored or logged by the console.
 */
import { revalidatePath } from "next/cache";
import { redirect, unstable_rethrow } from "next/navigation";
import { api, ApiError } from "@/lib/api.ts";
import { optional, runAction, str, type ActionState } from "@/lib/action.ts";
import { tenantApi } from "@/lib/tenant.ts";
import { echo, type EchoState } from "@/components/parts/echo.ts";
import type { CreatedCredential, Credential, Device, IssuedCertificate, Certificate } from "@/lib/types.ts";

/** "a, b ,,c" -> ["a", "b", "c"] (the API validates each tag). */
function tagsFrom(form: FormData, name = "tags"): string[] {
  return [...new Set(str(form, name).split(",").map((t) => t.trim()).filter((t) => t.length > 0))];
}

/** The API names a bad tag by its index (`tags.3`); say which tag it is. */
function nameTags<T extends ActionState<unknown>>(r: T, tags: string[]): T {
  for (const [k, m] of Object.entries(r.fieldErrors ?? {})) {
    const i = /^tags\.(\d+)$/.exec(k)?.[1];
    const tag = i === undefined ? undefined : tags[Number(i)];
    if (tag !== undefined && r.fieldErrors) r.fieldErrors[k] = `'${tag}': ${m}`;
  }
  return r;
}

function devicePath(tenant: string, id?: string): string {
  return `/t/${tenant}/devices${id ? `/${id}` : ""}`;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** Revalidates the list and, when given, one device page. */
function refresh(tenant: string, id?: string) {
  revalidatePath(devicePath(tenant));
  if (id) revalidatePath(devicePath(tenant, id));
}

// ---- devices -------------------------------------------------------------------

export async function createDevice(_prev: ActionState, form: FormData): Promise<EchoState<Device>> {
  const tenant = str(form, "tenant");
  const body: Record<string, unknown> = { clientId: str(form, "clientId") };
  const description = optional(form, "description");
  if (description !== undefined) body.description = description;
  const tags = tagsFrom(form);
  if (tags.length > 0) body.tags = tags;
  const r = nameTags(await runAction(() => api<Device>(tenantApi(tenant, "/devices"), { method: "POST", body }), "Device created."), tags);
  if (r.ok) refresh(tenant);
  return echo(r, form, ["clientId", "description", "tags"]);
}

export async function updateDevice(_prev: ActionState, form: FormData): Promise<EchoState<Device>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const description = str(form, "description");
  const body = { description: description === "" ? null : description, tags: tagsFrom(form) };
  const r = nameTags(await runAction(() => api<Device>(tenantApi(tenant, `/devices/${enc(id)}`), { method: "PATCH", body }), "Changes saved."), body.tags);
  if (r.ok) refresh(tenant, id);
  return echo(r, form, ["description", "tags"]);
}

export async function setDeviceEnabled(_prev: ActionState, form: FormData): Promise<ActionState<Device>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const enabled = str(form, "enabled") === "true";
  const r = await runAction(
    () => api<Device>(tenantApi(tenant, `/devices/${enc(id)}`), { method: "PATCH", body: { enabled } }),
    enabled ? "Device enabled: it may connect again." : "Device disabled: its connections were closed and it cannot connect.",
  );
  if (r.ok) refresh(tenant, id);
  return r;
}

/** From the list: stays on the list. From the device page (`returnToList`): goes back to the list. */
export async function deleteDevice(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/devices/${enc(id)}`), { method: "DELETE" }), "Device deleted.");
  if (r.ok) {
    refresh(tenant);
    if (str(form, "returnToList") === "1") redirect(`${devicePath(tenant)}?deleted=${enc(str(form, "clientId"))}`);
  }
  return r;
}

// ---- group membership -------------------------------------------------------------

export async function addToGroup(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const groupId = str(form, "groupId");
  if (!groupId) return { ok: false, message: "Choose a group.", at: Date.now() };
  const r = await runAction(() => api<void>(tenantApi(tenant, `/groups/${enc(groupId)}/members/${enc(id)}`), { method: "PUT" }), "Added to the group.");
  if (r.ok) refresh(tenant, id);
  return r;
}

export async function removeFromGroup(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const groupId = str(form, "groupId");
  const r = await runAction(() => api<void>(tenantApi(tenant, `/groups/${enc(groupId)}/members/${enc(id)}`), { method: "DELETE" }), "Removed from the group.");
  if (r.ok) refresh(tenant, id);
  return r;
}

// ---- credentials ----------------------------------------------------------------------

function credentialsPath(tenant: string, id: string, rest = ""): string {
  return tenantApi(tenant, `/devices/${enc(id)}/credentials${rest}`);
}

export async function createCredential(_prev: ActionState, form: FormData): Promise<EchoState<CreatedCredential>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const body: Record<string, unknown> = {};
  const username = optional(form, "username");
  if (username !== undefined) body.username = username;
  const expiresAt = optional(form, "expiresAt");
  if (expiresAt !== undefined) body.expiresAt = expiresAt;
  const r = await runAction(() => api<CreatedCredential>(credentialsPath(tenant, id), { method: "POST", body }), "Credential created.");
  if (r.ok) refresh(tenant, id);
  return echo(r, form, ["username"]);
}

export async function rotateCredential(_prev: ActionState, form: FormData): Promise<ActionState<CreatedCredential>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const credentialId = str(form, "credentialId");
  const r = await runAction(
    () => api<CreatedCredential>(credentialsPath(tenant, id, `/${enc(credentialId)}/rotate`), { method: "POST" }),
    "Password rotated: the old password no longer works and connections that used it were closed.",
  );
  if (r.ok) refresh(tenant, id);
  return r;
}

/** An empty expiry clears it (never expires). */
export async function setCredentialExpiry(_prev: ActionState, form: FormData): Promise<ActionState<Credential>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const credentialId = str(form, "credentialId");
  const expiresAt = optional(form, "expiresAt") ?? null;
  const r = await runAction(
    () => api<Credential>(credentialsPath(tenant, id, `/${enc(credentialId)}`), { method: "PATCH", body: { expiresAt } }),
    expiresAt === null ? "Expiry removed: the credential does not expire." : "Expiry saved.",
  );
  if (r.ok) refresh(tenant, id);
  return r;
}

export async function setCredentialEnabled(_prev: ActionState, form: FormData): Promise<ActionState<Credential>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const credentialId = str(form, "credentialId");
  const enabled = str(form, "enabled") === "true";
  const r = await runAction(
    () => api<Credential>(credentialsPath(tenant, id, `/${enc(credentialId)}`), { method: "PATCH", body: { enabled } }),
    enabled ? "Credential enabled." : "Credential disabled.",
  );
  if (r.ok) refresh(tenant, id);
  return r;
}

export async function revokeCredential(_prev: ActionState, form: FormData): Promise<ActionState> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const credentialId = str(form, "credentialId");
  const r = await runAction(
    () => api<void>(credentialsPath(tenant, id, `/${enc(credentialId)}`), { method: "DELETE" }),
    "Credential revoked: it can no longer be used.",
  );
  if (r.ok) refresh(tenant, id);
  return r;
}

// ---- certificates ------------------------------------------------------------------------

function certificatesPath(tenant: string, id: string, rest = ""): string {
  return tenantApi(tenant, `/devices/${enc(id)}/certificates${rest}`);
}

export async function issueCertificate(_prev: ActionState, form: FormData): Promise<EchoState<IssuedCertificate>> {
  const fields = ["authorityId", "validityDays", "csrPem"];
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const body: Record<string, unknown> = { authorityId: str(form, "authorityId") };
  if (!body.authorityId) return echo({ ok: false, message: "Choose a certificate authority.", fieldErrors: { authorityId: "Required" }, at: Date.now() }, form, fields);
  // The CSR box is only in the form when the user chose to paste a CSR.
  if (form.has("csrPem")) {
    const csrPem = str(form, "csrPem");
    if (!csrPem) return echo({ ok: false, message: "Paste a certificate signing request, or choose to generate a key pair.", fieldErrors: { csrPem: "Required" }, at: Date.now() }, form, fields);
    body.csrPem = csrPem;
  }
  const days = optional(form, "validityDays");
  if (days !== undefined) body.validityDays = Number(days);
  const r = await runAction(() => api<IssuedCertificate>(certificatesPath(tenant, id), { method: "POST", body }), "Certificate issued.");
  if (r.ok) refresh(tenant, id);
  return echo(r, form, fields);
}

export async function revokeCertificate(_prev: ActionState, form: FormData): Promise<ActionState<Certificate>> {
  const tenant = str(form, "tenant");
  const id = str(form, "id");
  const certificateId = str(form, "certificateId");
  const reason = optional(form, "reason") ?? "unspecified";
  const r = await runAction(
    () => api<Certificate>(certificatesPath(tenant, id, `/${enc(certificateId)}/revoke`), { method: "POST", body: { reason } }),
    "Certificate revoked: connections that used it were closed.",
  );
  if (r.ok) refresh(tenant, id);
  return r;
}

// ---- CSV import ---------------------------------------------------------------------------

export interface ImportLineError {
  line: number;
  field: string;
  message: string;
}

export interface ImportOutcome {
  created: number;
  errors: ImportLineError[];
  credentials?: { clientId: string; username: string; password: string }[];
  /** On refusal: how many problems the API found in all (it lists the first ones). */
  errorCount?: number;
}

/**
 * All or nothing, like the API: a 422 carries every problem with its line,
 * which the page lists in a table rather than as field errors.
 */
export async function importDevices(_prev: ActionState, form: FormData): Promise<EchoState<ImportOutcome>> {
  const tenant = str(form, "tenant");
  const csv = typeof form.get("csv") === "string" ? (form.get("csv") as string) : "";
  if (csv.trim() === "") return { ok: false, message: "Choose a CSV file or paste its content first.", at: Date.now() };
  const createCredentials = form.get("createCredentials") === "on";
  try {
    const result = await api<ImportOutcome>(tenantApi(tenant, "/devices/import"), { method: "POST", body: { csv, createCredentials } });
    refresh(tenant);
    return { ok: true, message: `Imported ${result.created} device${result.created === 1 ? "" : "s"}.`, data: result, at: Date.now() };
  } catch (err) {
    unstable_rethrow(err);
    if (err instanceof ApiError) {
      const p = err.problem;
      const errors: ImportLineError[] = (p.errors ?? []).map((e) => {
        const x = e as { line?: number; field?: string; message: string; path: string };
        return { line: x.line ?? 0, field: x.field ?? x.path, message: x.message };
      });
      const errorCount = typeof p.errorCount === "number" ? p.errorCount : errors.length;
      return echo({ ok: false, message: p.detail ?? p.title, data: { created: 0, errors, errorCount }, at: Date.now() }, form, ["createCredentials"]);
    }
    return echo({ ok: false, message: (err as Error).message, at: Date.now() }, form, ["createCredentials"]);
  }
}
