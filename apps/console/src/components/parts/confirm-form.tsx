"use client";
/**
 * A one-button form for a destructive action on one item (revoke a key,
 * delete a group, disconnect a client): the item's ids go as hidden fields,
 * the button asks first, and the outcome is told to the surrounding
 * <Notices> (`notice`: rows that delete themselves unmount) or, when it
 * failed, shown under the button.
 */
import { useActionState, type ReactNode } from "react";
import { ConfirmSubmit, type ActionStateView } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import { useNotify, withNotice } from "./notices.tsx";

export function ConfirmForm<S extends ActionStateView>({
  action,
  fields,
  question,
  notice,
  className,
  children,
}: {
  action: (prev: S, form: FormData) => Promise<S>;
  fields: Record<string, string>;
  question: string;
  notice?: boolean;
  className?: string;
  children: ReactNode;
}) {
  const notify = useNotify();
  const [state, run] = useActionState<S, FormData>(notice ? withNotice(notify, action) : action, idleState as Awaited<S>);
  return (
    <form action={run}>
      {Object.entries(fields).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <ConfirmSubmit question={question} className={className}>
        {children}
      </ConfirmSubmit>
      {!notice && !state.ok && state.message ? (
        <div className="error-text" role="alert">
          {state.message}
        </div>
      ) : null}
    </form>
  );
}
