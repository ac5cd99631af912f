/** Initial state of every action form (kept outside "use server" files, which may only export async functions). */
export const idleState: { ok: boolean; message?: string; fieldErrors?: Record<string, string>; at?: number } = { ok: false };
