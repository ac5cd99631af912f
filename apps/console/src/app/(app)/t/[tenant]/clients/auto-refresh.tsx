"use client";
import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";

/**
 * Re-renders the page's server components every few seconds while the tab
 * is visible (router.refresh keeps client state such as expanded rows), and
 * at once when the tab comes back. It can be paused (WCAG 2.2.2), e.g. while
 * reading a long list.
 */
export function AutoRefresh({ seconds = 5, renderedAt }: { seconds?: number; renderedAt: string }) {
  const router = useRouter();
  const [on, setOn] = useState(true);
  const [pending, startTransition] = useTransition();

  useEffect(() => {
    if (!on) return;
    const refresh = () => {
      if (document.visibilityState === "visible") startTransition(() => router.refresh());
    };
    const timer = setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", refresh);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", refresh);
    };
  }, [on, seconds, router]);

  return (
    <div className="row auto-refresh small">
      <label className="check">
        <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} /> Auto-refresh every {seconds} s
      </label>
      <span className="muted" aria-live="off">
        {pending ? "Updating…" : `Updated ${new Date(renderedAt).toLocaleTimeString("en-GB", { hour12: false })}`}
      </span>
    </div>
  );
}
