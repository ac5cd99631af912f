"use client";
import { useId, useState, type ReactNode } from "react";

/**
 * A table row with a disclosure button that shows a full-width detail row
 * beneath it (subscriptions of a client, the changes of an audit event).
 * A real <button> with aria-expanded/aria-controls, so it works with the
 * keyboard and screen readers; the state survives router.refresh().
 */
export function ExpandableRow({
  cells,
  after,
  label,
  colSpan,
  detail,
}: {
  /** Cells before the toggle. */
  cells: ReactNode;
  /** Cells after the toggle (actions). */
  after?: ReactNode;
  /** Text of the toggle button, e.g. "3 subscriptions" or "Details". */
  label: string;
  colSpan: number;
  detail: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <>
      <tr className={open ? "is-expanded" : undefined}>
        {cells}
        <td>
          <button type="button" className="small disclosure" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
            <span aria-hidden="true" className="chevron">
              {open ? "▾" : "▸"}
            </span>
            {label}
          </button>
        </td>
        {after}
      </tr>
      <tr id={id} className="detail-row" hidden={!open}>
        <td colSpan={colSpan}>{open ? detail : null}</td>
      </tr>
    </>
  );
}
