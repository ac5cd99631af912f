import { NextResponse, type NextRequest } from "next/server";
import { callbackUrl, client, oidcConfig } from "@/lib/oidc.ts";
import { sessionCookies, unseal, type Session } from "@/lib/session.ts";
import { OIDC_STATE_COOKIE } from "../login/route.ts";

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
}

/** The IdP redirects here with the code; we exchange it (with the PKCE verifier) for tokens. */
export async function GET(req: NextRequest): Promise<NextResponse> {
  const pending = await unseal<Pending>(req.cookies.get(OIDC_STATE_COOKIE)?.value);
  const fail = (error: string) => {
    const res = NextResponse.redirect(new URL(`/login?error=${error}`, req.url));
    res.cookies.delete({ name: OIDC_STATE_COOKIE, path: "/api/auth" });
    return res;
  };
  if (!pending) return fail("sign-in-expired");
  if (req.nextUrl.searchParams.get("error")) return fail("idp-refused");
  let tokens;
  try {
    const config = await oidcConfig();
    // The code was sent to our public callback URL; rebuild it from configuration, not from proxy headers.
    const current = new URL(callbackUrl());
    current.search = req.nextUrl.search;
    tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
  } catch {
    return fail("sign-in-failed");
  }
  const claims = tokens.claims();
  const session: Session = {
    kind: "oidc",
    accessToken: tokens.access_token,
    expiresAt: Math.floor(Date.now() / 1000) + (tokens.expires_in ?? 300),
    refreshToken: tokens.refresh_token,
    idToken: tokens.id_token,
    name: String(claims?.name ?? claims?.preferred_username ?? claims?.sub ?? "user"),
  };
  const res = NextResponse.redirect(new URL(pending.returnTo, req.url));
  for (const c of await sessionCookies(session)) res.cookies.set(c.name, c.value, c.options);
  res.cookies.delete({ name: OIDC_STATE_COOKIE, path: "/api/auth" });
  return res;
}
