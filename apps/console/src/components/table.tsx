import type { ReactNode } from "react";

/**
 * The list table of every page (server or client component alike): it
 * scrolls sideways inside .table-wrap at phone width, has an optional
 * caption for screen readers, the header cells in `head`, the rows as
 * children, and under the table whatever `after` holds ("showing n of m").
 */
export function DataTable({ caption, head, after, children }: { caption?: ReactNode; head: ReactNode; after?: ReactNode; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        {caption ? <caption className="sr-only">{caption}</caption> : null}
        <thead>
          <tr>{head}</tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      {after}
    </div>
  );
}

/** The header of a column of row actions: named for screen readers only. */
export function ActionsHead() {
  return (
    <th scope="col">
      <span className="sr-only">Actions</span>
    </th>
  );
}
