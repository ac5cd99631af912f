import { NextResponse, type NextRequest } from "next/server";
import { env } from "@/lib/env.ts";
import { client, oidcConfig } from "@/lib/oidc.ts";
import { clearSessionCookies, readSession } from "@/lib/session.ts";

/**
 * Sign-out clears the console session and, for OIDC sessions, ends the IdP
 * session too (RP-initiated logout with id_token_hint), so the next sign-in
 * asks for the password again. POST only: a link or image cannot sign you out.
 */
export async function POST(req: NextRequest): Promise<NextResponse> {
  const session = await readSession(req.cookies);
  const after = new URL("/login?signedOut=1", env().CONSOLE_PUBLIC_URL).toString();
  let target = after;
  if (session?.kind === "oidc") {
    try {
      const config = await oidcConfig();
      target = client
        .buildEndSessionUrl(config, {
          post_logout_redirect_uri: after,
          ...(session.idToken ? { id_token_hint: session.idToken } : {}),
        })
        .toString();
    } catch {
      /* the IdP is unreachable: still end the local session */
    }
  }
  const res = NextResponse.redirect(target, 303);
  for (const c of clearSessionCookies()) res.cookies.set(c.name, c.value, c.options);
  return res;
}
