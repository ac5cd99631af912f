import { NextResponse, type NextRequest } from "next/server";
import { apiUrl } from "@/lib/api.ts";
import { sessionCookies, type Session } from "@/lib/session.ts";
import { safeReturnTo } from "@/lib/return-to.ts";

/** Local administrator sign-in (the embedded default): the broker checks the password and returns a token. */
export async function POST(req: NextRequest): Promise<NextResponse> {
  const form = await req.formData();
  const username = String(form.get("username") ?? "");
  const password = String(form.get("password") ?? "");
  const returnTo = safeReturnTo(String(form.get("returnTo") ?? "/"));
  const back = (error: string) => NextResponse.redirect(new URL(`/login?error=${error}&returnTo=${encodeURIComponent(returnTo)}`, req.url), 303);
  if (!username || !password) return back("missing-credentials");
  let res: Response;
  try {
    res = await fetch(apiUrl("/api/v1/auth/token"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
      cache: "no-store",
    });
  } catch {
    return back("api-unreachable");
  }
  if (res.status === 401 || res.status === 400) return back("bad-credentials");
  if (res.status === 429) return back("too-many-attempts");
  if (!res.ok) return back("api-error");
  const body = (await res.json()) as { accessToken: string; expiresIn: number };
  const session: Session = { kind: "local", accessToken: body.accessToken, expiresAt: Math.floor(Date.now() / 1000) + body.expiresIn, name: username };
  const out = NextResponse.redirect(new URL(returnTo, req.url), 303);
  for (const c of await sessionCookies(session)) out.cookies.set(c.name, c.value, c.options);
  return out;
}
