import { unstable_rethrow } from "next/navigation";

/**
 * A page's sections load side by side, and one failing (say, a viewer's 403
 * on a list) must not take the whole page down: each settles to its value
 * or its error, which the section shows in place.
 */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    unstable_rethrow(error); // an expired session redirects to sign-in
    return { ok: false, error };
  }
}
