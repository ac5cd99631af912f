import type { ReactNode } from "react";
import { Shell } from "@/components/shell.tsx";
import { ErrorPanel } from "@/components/ui.tsx";
import { me, requireSession, type Me } from "@/lib/api.ts";

/** Everything behind sign-in: the navigation shell around each page. */
export default async function AppLayout({ children }: { children: ReactNode }) {
  const session = await requireSession();
  let who: Me;
  try {
    who = await me();
  } catch (err) {
    return (
      <main className="main">
        <ErrorPanel error={err} />
        <form method="post" action="/api/auth/logout">
          <button type="submit">Sign out</button>
        </form>
      </main>
    );
  }
  return (
    <Shell me={who} name={session.name}>
      {children}
    </Shell>
  );
}
