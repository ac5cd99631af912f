import "server-only";
import { unstable_rethrow } from "next/navigation";
import { ApiError } from "./api.ts";

/**
 * What a server action hands back to its form (through useActionState): the
 * API's problem detail and per-field errors are shown next to the fields.
 */
export interface ActionState<T = unknown> {
  ok: boolean;
  message?: string;
  fieldErrors?: Record<string, string>;
  data?: T;
  /** Changes on every submit, so forms can reset or re-announce. */
  at?: number;
}


export async function runAction<T>(fn: () => Promise<T>, success?: string): Promise<ActionState<T>> {
  try {
    const data = await fn();
    return { ok: true, message: success, data, at: Date.now() };
  } catch (err) {
    unstable_rethrow(err); // redirects and notFound() are control flow, not failures
    if (err instanceof ApiError) {
      const fieldErrors: Record<string, string> = {};
      for (const e of err.problem.errors ?? []) fieldErrors[e.path] = e.message;
      return { ok: false, message: err.problem.detail ?? err.problem.title, fieldErrors, at: Date.now() };
    }
    return { ok: false, message: (err as Error).message, at: Date.now() };
  }
}

export function str(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === "string" ? v.trim() : "";
}

export function optional(form: FormData, name: string): string | undefined {
  const v = str(form, name);
  return v === "" ? undefined : v;
}
