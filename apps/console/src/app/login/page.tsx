import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { Logo } from "@/components/logo.tsx";
import { currentSession } from "@/lib/api.ts";
import { oidcEnabled } from "@/lib/oidc.ts";
import { safeReturnTo } from "@/lib/return-to.ts";

export const metadata: Metadata = { title: "Sign in" };

const messages: Record<string, string> = {
  "bad-credentials": "Wrong username or password.",
  "missing-credentials": "Enter a username and a password.",
  "too-many-attempts": "Too many attempts. Wait a minute and try again.",
  "api-unreachable": "The broker API cannot be reached. Is the broker running?",
  "api-error": "The broker API failed to sign you in. Try again.",
  "idp-unreachable": "The identity provider cannot be reached.",
  "idp-refused": "The identity provider refused the sign-in.",
  "sign-in-expired": "The sign-in took too long. Start again.",
  "sign-in-failed": "The sign-in could not be completed. Start again.",
  "oidc-disabled": "Single sign-on is not configured on this console.",
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const q = await searchParams;
  const returnTo = safeReturnTo(q.returnTo);
  if (await currentSession()) redirect(returnTo);
  const error = q.error ? (messages[q.error] ?? "Sign-in failed.") : undefined;
  const sso = oidcEnabled();
  return (
    <main className="login">
      <div className="card">
        <div className="brand">
          <Logo size={30} /> Halyard
        </div>
        <h1 style={{ fontSize: 20, marginBottom: 16 }}>Sign in to the console</h1>
        {error ? <div className="alert error" role="alert">{error}</div> : null}
        {q.signedOut ? <div className="alert success" role="status">You are signed out.</div> : null}
        {q.expired ? <div className="alert info" role="status">Your session ended. Sign in again.</div> : null}
        {sso ? (
          <>
            <a className="button primary" style={{ width: "100%", justifyContent: "center" }} href={`/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`}>
              Sign in with single sign-on
            </a>
            <div className="or">or the local administrator</div>
          </>
        ) : null}
        <form method="post" action="/api/auth/local">
          <input type="hidden" name="returnTo" value={returnTo} />
          <div className="field">
            <label htmlFor="username">Username</label>
            <input id="username" name="username" autoComplete="username" required defaultValue={sso ? "" : "admin"} />
          </div>
          <div className="field">
            <label htmlFor="password">Password</label>
            <input id="password" name="password" type="password" autoComplete="current-password" required />
          </div>
          <button type="submit" className={sso ? "" : "primary"} style={{ width: "100%", justifyContent: "center" }}>
            Sign in
          </button>
        </form>
        {!sso ? <p className="muted small">The password of the local administrator is printed by the broker at its first start.</p> : null}
      </div>
    </main>
  );
}
