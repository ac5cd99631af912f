"use client";
/**
 * One message area for a list whose rows have their own action buttons: a row
 * that deletes itself unmounts with its form state, so rows report here, to a
 * live region that outlives them.
 */
import { createContext, useCallback, useContext, useState, type ReactNode } from "react";
import { ActionMessage, type ActionStateView } from "@/components/forms.tsx";

const NoticeContext = createContext<(s: ActionStateView) => void>(() => {});

export function Notices({ children }: { children: ReactNode }) {
  const [state, setState] = useState<ActionStateView>({ ok: false });
  const notify = useCallback((s: ActionStateView) => setState(s), []);
  return (
    <NoticeContext value={notify}>
      <div aria-live="polite">
        <ActionMessage state={state} />
      </div>
      {children}
    </NoticeContext>
  );
}

/** Wraps a server action so its outcome is reported to the surrounding <Notices>. */
export function useNotify() {
  return useContext(NoticeContext);
}

export function withNotice<S extends ActionStateView>(notify: (s: ActionStateView) => void, action: (prev: S, form: FormData) => Promise<S>) {
  return async (prev: S, form: FormData): Promise<S> => {
    const r = await action(prev, form);
    notify(r);
    return r;
  };
}
