"use client";
/**
 * Client-side pieces shared by the device and settings pages: live refresh,
 * error lists keyed by the API's field paths, a local-time date input that
 * submits ISO 8601, secrets shown once, snippets and in-browser downloads.
 * (The folder starts with `_` so the router does not treat it as a route.)
 */
import { useRouter } from "next/navigation";
import { useEffect, useId, useState, type ReactNode, type Ref } from "react";
import { ActionMessage, CopyButton, type ActionStateView } from "@/components/forms.tsx";

/**
 * Re-renders the page's server components every `seconds` while the tab is
 * visible (connection status, last-used times); client state such as a
 * half-typed form or a secret shown once survives a refresh.
 */
export function AutoRefresh({ seconds = 5 }: { seconds?: number }) {
  const router = useRouter();
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      if (timer === undefined) timer = setInterval(() => router.refresh(), seconds * 1000);
    };
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = () => {
      if (document.visibilityState === "visible") {
        router.refresh();
        start();
      } else stop();
    };
    if (document.visibilityState === "visible") start();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stop();
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [router, seconds]);
  return (
    <span className="muted small live-note">
      <span className="dot" aria-hidden="true" /> Live · status refreshes every {seconds} s
    </span>
  );
}

/** Errors for a field and everything under it (`tags` also shows `tags.3`). */
export function FieldErrors({ state, name, id }: { state: ActionStateView; name: string; id?: string }) {
  const entries = Object.entries(state.fieldErrors ?? {}).filter(([k]) => k === name || k.startsWith(name + "."));
  if (entries.length === 0) return null;
  return (
    <div className="error" id={id ?? `${name}-error`}>
      {entries.map(([k, m]) => (
        <div key={k}>
          {k === name || /^\d+$/.test(k.slice(name.length + 1)) ? "" : `${k.slice(name.length + 1)}: `}
          {m}
        </div>
      ))}
    </div>
  );
}

/**
 * A labelled field: the label bound to `id`, the control (children), a hint
 * with id `<id>-hint` for the control's aria-describedby, and the action's
 * errors for `name` and everything under it.
 */
export function Field({ id, label, hint, state, name, className = "field", children }: { id: string; label: ReactNode; hint?: ReactNode; state?: ActionStateView; name?: string; className?: string; children: ReactNode }) {
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
      {state && name ? <FieldErrors state={state} name={name} /> : null}
    </div>
  );
}

/**
 * A titled form inside a section ("Create a group"): named by its heading,
 * with the action's message announced above the fields. `failuresOnly` for
 * forms whose success shows something better (a secret shown once).
 */
export function Subform({ id, title, action, formRef, state, failuresOnly, children }: { id: string; title: string; action: (form: FormData) => void; formRef?: Ref<HTMLFormElement>; state: ActionStateView; failuresOnly?: boolean; children: ReactNode }) {
  return (
    <form className="subform" action={action} ref={formRef} aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      <div aria-live="polite">{failuresOnly && state.ok ? null : <ActionMessage state={state} />}</div>
      {children}
    </form>
  );
}

/**
 * What a successful action returned once (a new API key, a private key), until
 * the user dismisses it; a later success shows again. Returns the data and
 * the dismiss callback.
 */
export function useShownOnce<T>(state: ActionStateView & { data?: T }): [T | undefined, () => void] {
  const [dismissedAt, setDismissedAt] = useState<number | undefined>(undefined);
  const data = state.ok && state.at !== dismissedAt ? state.data : undefined;
  return [data ?? undefined, () => setDismissedAt(state.at)];
}

/** Field errors the form has no field for (a body-level problem, say), so nothing the API said is lost. */
export function OtherErrors({ state, known }: { state: ActionStateView; known: string[] }) {
  const entries = Object.entries(state.fieldErrors ?? {}).filter(([k]) => !known.some((n) => k === n || k.startsWith(n + ".")));
  if (entries.length === 0) return null;
  return (
    <ul className="error-text">
      {entries.map(([k, m]) => (
        <li key={k}>
          <span className="mono">{k}</span>: {m}
        </li>
      ))}
    </ul>
  );
}

/**
 * A date and time in the user's own time zone (datetime-local), submitted
 * as ISO 8601 UTC in a hidden field named `name`, which is what the API takes.
 */
export function LocalDateTimeInput({ name, label, hint, defaultIso, required, resetKey }: { name: string; label: string; hint?: ReactNode; defaultIso?: string | null; required?: boolean; resetKey?: unknown }) {
  const id = useId();
  const [local, setLocal] = useState(() => toLocalInput(defaultIso));
  const [lastReset, setLastReset] = useState(resetKey);
  // Forms reset after success (resetKey changes): the hidden ISO value must follow.
  if (resetKey !== lastReset) {
    setLastReset(resetKey);
    setLocal(toLocalInput(defaultIso));
  }
  const iso = local ? new Date(local).toISOString() : "";
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="datetime-local" value={local} required={required} onChange={(e) => setLocal(e.target.value)} aria-describedby={hint ? `${id}-hint` : undefined} />
      <input type="hidden" name={name} value={iso} />
      {hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

/** A secret the API returns once: visible, copyable, and said to be unrecoverable. */
export function OnceSecret({ label, value, children, copyLabel }: { label: string; value: string; children?: ReactNode; copyLabel?: string }) {
  const id = useId();
  return (
    <div className="stack-tight">
      <div className="alert info" role="status">
        <strong>{label}.</strong> {children ?? "This secret is shown only once: copy it now, it cannot be shown again."}
      </div>
      <div className={value.includes("\n") ? "secret multiline" : "secret"} aria-labelledby={id}>
        <span id={id} className="sr-only">
          {label}
        </span>
        <code data-secret>{value}</code>
        <CopyButton value={value} label={copyLabel ?? `Copy ${label.toLowerCase()}`} />
      </div>
    </div>
  );
}

/** The card that holds what an action returned once (a password, a private key) until the user says it is saved. */
export function OnceCard({ id, title, done, onDone, children }: { id: string; title: string; done: string; onDone: () => void; children: ReactNode }) {
  return (
    <section className="card highlight" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      {children}
      <button type="button" onClick={onDone}>
        {done}
      </button>
    </section>
  );
}

/** A copyable code block with a caption. */
export function Snippet({ title, code }: { title: string; code: string }) {
  return (
    <figure className="snippet">
      <figcaption className="row">
        <span className="small muted">{title}</span>
        <span className="spacer" />
        <CopyButton value={code} label={`Copy ${title}`} />
      </figcaption>
      <pre>
        <code>{code}</code>
      </pre>
    </figure>
  );
}

/** Saves text the page already holds (a PEM, a private key, a CSV of passwords) without another request. */
export function DownloadButton({ text, filename, type = "application/x-pem-file", children, className = "small" }: { text: string; filename: string; type?: string; children: ReactNode; className?: string }) {
  return (
    <button
      type="button"
      className={className}
      onClick={() => {
        const url = URL.createObjectURL(new Blob([text], { type }));
        const a = document.createElement("a");
        a.href = url;
        a.download = filename;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      }}
    >
      {children}
    </button>
  );
}

/** Default values for a form's fields: what was submitted when the action failed (see echo.ts), else `fallback`. */
export function echoed(state: ActionStateView & { values?: Record<string, string> }) {
  return (name: string, fallback = ""): string => (!state.ok && state.values && name in state.values ? (state.values[name] ?? fallback) : fallback);
}

/** The badge of components/ui.tsx for client components (that module is server-only: it imports the API client). */
export function Pill({ tone, children }: { tone?: "ok" | "warn" | "bad" | "info"; children: ReactNode }) {
  return <span className={`badge ${tone ?? ""}`}>{children}</span>;
}
