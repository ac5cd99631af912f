import { NextResponse, type NextRequest } from "next/server";
import { client, oidcConfig } from "@/lib/oidc.ts";
import { clearSessionCookies, readSession, sessionCookies, type Session } from "@/lib/session.ts";

/**
 * Runs before every page and console API route: no session sends the browser
 * to /login; an OIDC access token close to expiry is refreshed here, the only
 * place (besides route handlers) where Next lets us rewrite cookies before the
 * page renders with them.
 */
const REFRESH_MARGIN_SECONDS = 60;

export async function proxy(req: NextRequest): Promise<NextResponse> {
  const session = await readSession(req.cookies);
  const toLogin = (expired: boolean) => {
    if (req.nextUrl.pathname.startsWith("/api/")) {
      return NextResponse.json({ status: 401, title: "Unauthorized", detail: "Sign in again." }, { status: 401 });
    }
    const url = new URL("/login", req.url);
    url.searchParams.set("returnTo", req.nextUrl.pathname + req.nextUrl.search);
    if (expired) url.searchParams.set("expired", "1");
    const res = NextResponse.redirect(url);
    for (const c of clearSessionCookies()) res.cookies.set(c.name, c.value, c.options);
    return res;
  };
  if (!session) return toLogin(false);
  const now = Math.floor(Date.now() / 1000);
  if (session.expiresAt - now > REFRESH_MARGIN_SECONDS) return NextResponse.next();
  if (session.kind !== "oidc" || !session.refreshToken) {
    return session.expiresAt > now ? NextResponse.next() : toLogin(true);
  }
  let next: Session;
  try {
    const tokens = await client.refreshTokenGrant(await oidcConfig(), session.refreshToken);
    next = {
      ...session,
      accessToken: tokens.access_token,
      expiresAt: now + (tokens.expires_in ?? 300),
      refreshToken: tokens.refresh_token ?? session.refreshToken,
      idToken: tokens.id_token ?? session.idToken,
    };
  } catch {
    // Refresh token expired or the IdP session was ended elsewhere: sign in again.
    return toLogin(true);
  }
  const cookies = await sessionCookies(next);
  // Hand the fresh cookies to this request's render as well as to the browser.
  for (const c of cookies) req.cookies.set(c.name, c.value);
  const res = NextResponse.next({ request: { headers: req.headers } });
  for (const c of cookies) res.cookies.set(c.name, c.value, c.options);
  return res;
}

export const config = {
  matcher: ["/((?!login|api/auth|api/health|_next/static|_next/image|favicon.ico|icon.svg).*)"],
};
