import Link from "next/link";
import type { InputHTMLAttributes, ReactNode } from "react";

/**
 * The search and filter bars above the lists (devices, events, audit log,
 * retained messages): a GET form named for screen readers (role=search),
 * its fields, the submit button and, while a filter is set, a link back to
 * the unfiltered list. The API's complaint about a field (a bad topic
 * filter, say) is shown under that field instead of as a page error.
 */
export function FilterBar({
  label,
  clearHref,
  submit = "Filter",
  clear = "Clear filters",
  card,
  action,
  children,
}: {
  label: string;
  /** The unfiltered list; the clear link is shown when set. */
  clearHref?: string | false;
  submit?: string;
  clear?: string;
  /** The larger layout of the devices page: a card, a primary button, the buttons on their own row. */
  card?: boolean;
  action?: string;
  children: ReactNode;
}) {
  const buttons = (
    <>
      <button type="submit" className={card ? "primary" : undefined}>
        {submit}
      </button>
      {clearHref ? (
        <Link className="button" href={clearHref}>
          {clear}
        </Link>
      ) : null}
    </>
  );
  return (
    <form className={card ? "card filters" : "inline-form"} role="search" aria-label={label} action={action}>
      {children}
      {card ? <div className="row">{buttons}</div> : buttons}
    </form>
  );
}

/** A text filter with its label, and its API error or else its hint (the input is described by whichever is shown). */
export function TextFilter({
  id,
  label,
  error,
  hint,
  grow,
  ...input
}: { id: string; label: ReactNode; error?: string | undefined; hint?: ReactNode; grow?: boolean } & Omit<InputHTMLAttributes<HTMLInputElement>, "id">) {
  const described = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className={grow ? "field grow" : "field"}>
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} aria-invalid={error ? true : undefined} aria-describedby={described} />
      {error ? (
        <div className="error" id={`${id}-error`}>
          {error}
        </div>
      ) : hint ? (
        <div className="hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

/** A choice among fixed values, the first option (value "") meaning no filter. */
export function SelectFilter({ id, name, label, value, any, options }: { id: string; name: string; label: string; value: string | undefined; any: string; options: readonly (readonly [string, string])[] }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} defaultValue={value ?? ""}>
        <option value="">{any}</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </div>
  );
}
