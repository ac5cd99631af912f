"use client";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { useFormStatus } from "react-dom";

/** Client-side form helpers: pending state, messages from server actions, copy and confirm. */

export interface ActionStateView {
  ok: boolean;
  message?: string;
  fieldErrors?: Record<string, string>;
  at?: number;
}

export function SubmitButton({ children, className = "primary", pendingText }: { children: ReactNode; className?: string; pendingText?: string }) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" className={className} disabled={pending} aria-busy={pending}>
      {pending ? (pendingText ?? "Working…") : children}
    </button>
  );
}

export function ActionMessage({ state }: { state: ActionStateView }) {
  if (!state.message) return null;
  return (
    <div className={`alert ${state.ok ? "success" : "error"}`} role={state.ok ? "status" : "alert"}>
      {state.message}
    </div>
  );
}

export function FieldError({ state, name }: { state: ActionStateView; name: string }) {
  const msg = state.fieldErrors?.[name];
  return msg ? (
    <div className="error" id={`${name}-error`}>
      {msg}
    </div>
  ) : null;
}

export function CopyButton({ value, label = "Copy" }: { value: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="small"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          // Clipboard API unavailable (plain http): select text for a manual copy instead.
          const ta = document.createElement("textarea");
          ta.value = value;
          document.body.appendChild(ta);
          ta.select();
          document.execCommand("copy");
          ta.remove();
        }
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? "Copied" : label}
    </button>
  );
}

/** A submit button that asks first; for destructive actions. */
export function ConfirmSubmit({ children, question, className = "danger small" }: { children: ReactNode; question: string; className?: string }) {
  const { pending } = useFormStatus();
  return (
    <button
      type="submit"
      className={className}
      disabled={pending}
      onClick={(e) => {
        if (!window.confirm(question)) e.preventDefault();
      }}
    >
      {children}
    </button>
  );
}

/** Resets a form after a successful action (state.at changes on every submit). */
export function useResetOnSuccess(state: ActionStateView) {
  const ref = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (state.ok) ref.current?.reset();
  }, [state.ok, state.at]);
  return ref;
}
