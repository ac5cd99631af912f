import { NextResponse, type NextRequest } from "next/server";
import { callbackUrl, client, oidcConfig, oidcEnabled } from "@/lib/oidc.ts";
import { seal } from "@/lib/session.ts";
import { secureCookies } from "@/lib/env.ts";
import { safeReturnTo } from "@/lib/return-to.ts";

export const OIDC_STATE_COOKIE = "halyard_oidc";

/** Starts Authorization Code + PKCE: state, nonce and verifier go into a short-lived encrypted cookie. */
export async function GET(req: NextRequest): Promise<NextResponse> {
  if (!oidcEnabled()) return NextResponse.redirect(new URL("/login?error=oidc-disabled", req.url));
  let config;
  try {
    config = await oidcConfig();
  } catch {
    return NextResponse.redirect(new URL("/login?error=idp-unreachable", req.url));
  }
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const returnTo = safeReturnTo(req.nextUrl.searchParams.get("returnTo"));
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: callbackUrl(),
    scope: "openid profile email",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const res = NextResponse.redirect(url);
  res.cookies.set(OIDC_STATE_COOKIE, await seal({ verifier, state, nonce, returnTo }, 600), {
    httpOnly: true,
    secure: secureCookies(),
    sameSite: "lax",
    path: "/api/auth",
    maxAge: 600,
  });
  return res;
}
