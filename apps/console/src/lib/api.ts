import "server-only";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { env } from "./env.ts";
import { readSession, type Session } from "./session.ts";

/**
 * Server-side client of the broker's admin API. Every call carries the
 * signed-in user's own token, so the broker authorizes it exactly as it would
 * a direct API call: the console never holds more power than its user.
 */
export interface Problem {
  status: number;
  title: string;
  detail?: string;
  errors?: { path: string; message: string }[];
  [key: string]: unknown;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
}

export const currentSession = cache(async (): Promise<Session | undefined> => readSession(await cookies()));

export async function requireSession(): Promise<Session> {
  const s = await currentSession();
  if (!s) redirect("/login");
  return s;
}

export interface ApiInit {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
}

export function apiUrl(path: string, query?: ApiInit["query"]): string {
  const url = new URL(path, env().CONSOLE_API_URL);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  return url.toString();
}

/** Raw fetch with the session's bearer token (used for streams and downloads). */
export async function apiFetch(path: string, init: ApiInit = {}): Promise<Response> {
  const session = await requireSession();
  const headers: Record<string, string> = { authorization: `Bearer ${session.accessToken}`, accept: "application/json" };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  try {
    return await fetch(apiUrl(path, init.query), {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      cache: "no-store",
      signal: init.signal,
    });
  } catch (err) {
    throw new ApiError({ status: 503, title: "Broker API unreachable", detail: `The console could not reach the broker at ${env().CONSOLE_API_URL} (${(err as Error).message}).` });
  }
}

export async function api<T>(path: string, init: ApiInit = {}): Promise<T> {
  const res = await apiFetch(path, init);
  if (res.status === 401) redirect("/login?expired=1");
  if (!res.ok) {
    let problem: Problem = { status: res.status, title: res.statusText || "Request failed" };
    try {
      problem = { ...problem, ...((await res.json()) as Partial<Problem>) };
    } catch {
      /* not a problem document */
    }
    throw new ApiError(problem);
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export type TenantRole = "tenant_viewer" | "tenant_operator" | "tenant_admin";

export interface Me {
  kind: string;
  subject: string;
  displayName: string | null;
  platformAdmin: boolean;
  tenants: { slug: string; role: TenantRole }[];
}

export const me = cache((): Promise<Me> => api<Me>("/api/v1/me"));

const rank: Record<TenantRole, number> = { tenant_viewer: 1, tenant_operator: 2, tenant_admin: 3 };

/** What the UI may offer: mirrors the API's TenantAccess rules (platform admins may do everything). */
export function roleIn(m: Me, tenant: string): TenantRole | undefined {
  if (m.platformAdmin) return "tenant_admin";
  return m.tenants.find((t) => t.slug === tenant)?.role;
}

export function can(m: Me, tenant: string, needed: TenantRole): boolean {
  const r = roleIn(m, tenant);
  return r !== undefined && rank[r] >= rank[needed];
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}
