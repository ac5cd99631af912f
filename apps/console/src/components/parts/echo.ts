import type { ActionState } from "@/lib/action.ts";

/**
 * React resets a form's uncontrolled fields after every action, failed ones
 * included, which would wipe what the user typed next to the error that
 * explains it. A failed action therefore echoes the named (never secret)
 * fields back, and the forms use them as default values (see useEcho).
 */
export type EchoState<T = unknown> = ActionState<T> & { values?: Record<string, string> };

export function echo<T>(r: ActionState<T>, form: FormData, names: string[]): EchoState<T> {
  if (r.ok) return r;
  const values: Record<string, string> = {};
  for (const n of names) {
    const v = form.get(n);
    if (typeof v === "string") values[n] = v;
  }
  return { ...r, values };
}
