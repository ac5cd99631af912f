"use client";
/**
 * CSV import: pick a file (or paste), preview the first rows as the browser
 * reads them, send. The API imports all or nothing; when it refuses, every
 * problem is listed with its line. Generated passwords come back once and
 * can be saved as a CSV file made in the browser.
 */
import Link from "next/link";
import { useActionState, useId, useMemo, useState } from "react";
import { ActionMessage, SubmitButton } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import { importDevices, type ImportOutcome } from "../actions.ts";
import { DownloadButton, echoed } from "@/components/parts/client.tsx";
import { parseCsv, toCsvLine } from "./csv.ts";
import { DataTable } from "@/components/table.tsx";

const KNOWN = new Set(["clientid", "description", "tags", "groups"]);
const EXAMPLE = "clientId,description,tags,groups\nsensor-001,Boiler room,zone1;temperature,floor-2\nsensor-002,,zone2,\n";
/** Files beyond this are refused in the browser: the request would exceed the API's body limit anyway. */
const MAX_BYTES = 900 * 1024;

export function ImportForm({ tenant, maxRows }: { tenant: string; maxRows: number }) {
  const [csv, setCsv] = useState("");
  const [fileNote, setFileNote] = useState<string | null>(null);
  const [state, action] = useActionState(importDevices, idleState);
  const preview = useMemo(() => (csv.trim() ? parseCsv(csv) : null), [csv]);
  const outcome = (state as { data?: ImportOutcome }).data;
  // After a successful import the same text would only be refused as duplicates: start afresh.
  const [seenAt, setSeenAt] = useState(state.at);
  if (state.at !== seenAt) {
    setSeenAt(state.at);
    if (state.ok) {
      setCsv("");
      setFileNote(null);
    }
  }
  const fileId = useId();
  const textId = useId();
  const unknownColumns = preview ? preview.header.filter((h) => !KNOWN.has(h.toLowerCase())) : [];

  return (
    <div className="stack prov">
      <form action={action} className="card" aria-labelledby="import-heading">
        <h2 id="import-heading">Devices to import</h2>
        <p className="small muted">
          A header line naming the columns <code>clientId</code> (required), <code>description</code>, <code>tags</code> and <code>groups</code>, in any
          order, then one device per line. Separate several tags or groups with <code>;</code>; groups are named and must exist. Up to{" "}
          {maxRows.toLocaleString("en-US")} devices per file. Nothing is imported unless every line is valid.
        </p>
        <input type="hidden" name="tenant" value={tenant} />
        <div className="grid-2">
          <div className="field">
            <label htmlFor={fileId}>CSV file</label>
            <input
              id={fileId}
              type="file"
              accept=".csv,text/csv,text/plain"
              onChange={async (e) => {
                const file = e.target.files?.[0];
                if (!file) return;
                if (file.size > MAX_BYTES) {
                  setFileNote(`${file.name} is ${Math.round(file.size / 1024)} KiB; the limit is ${MAX_BYTES / 1024} KiB. Split it into several files.`);
                  return;
                }
                setCsv(await file.text());
                setFileNote(`Loaded ${file.name} (${Math.max(1, Math.round(file.size / 1024))} KiB).`);
              }}
              aria-describedby={`${fileId}-hint`}
            />
            <div className="hint" id={`${fileId}-hint`} aria-live="polite">
              {fileNote ?? "Or paste the content below."}
            </div>
          </div>
          <div className="field">
            <span className="label-like">Example</span>
            <div className="row">
              <button type="button" className="small" onClick={() => setCsv(EXAMPLE)}>
                Use example
              </button>
              <DownloadButton text={EXAMPLE} filename="devices-example.csv" type="text/csv">
                Download example
              </DownloadButton>
            </div>
          </div>
        </div>
        <div className="field">
          <label htmlFor={textId}>CSV content</label>
          <textarea id={textId} name="csv" value={csv} onChange={(e) => setCsv(e.target.value)} rows={8} spellCheck={false} placeholder={EXAMPLE} />
        </div>
        {preview ? (
          <section aria-labelledby="preview-heading" className="preview">
            <h3 id="preview-heading">
              Preview{" "}
              <span className="muted small">
                ({preview.total} device line{preview.total === 1 ? "" : "s"}
                {preview.total > preview.rows.length ? `, first ${preview.rows.length} shown` : ""})
              </span>
            </h3>
            {unknownColumns.length > 0 ? (
              <div className="alert error" role="alert">
                Unknown column{unknownColumns.length === 1 ? "" : "s"}: {unknownColumns.map((c) => `'${c}'`).join(", ")}. The columns are clientId, description, tags and groups.
              </div>
            ) : null}
            {preview.total > maxRows ? (
              <div className="alert error" role="alert">
                The file has {preview.total.toLocaleString("en-US")} device lines; an import takes at most {maxRows.toLocaleString("en-US")}.
              </div>
            ) : null}
            <DataTable
              caption="First rows of the file"
              head={
                <>
                  <th scope="col" className="num">
                    Line
                  </th>
                  {preview.header.map((h, i) => (
                    <th scope="col" key={i}>
                      {h || `(column ${i + 1})`}
                    </th>
                  ))}
                </>
              }
            >
              {preview.rows.map((r) => (
                <tr key={r.line}>
                  <td className="num muted">{r.line}</td>
                  {preview.header.map((_, i) => (
                    <td key={i} className="small">
                      {r.fields[i] ?? ""}
                    </td>
                  ))}
                </tr>
              ))}
            </DataTable>
          </section>
        ) : null}
        <div className="field">
          <label className="check">
            <input type="checkbox" name="createCredentials" defaultChecked={echoed(state)("createCredentials") === "on"} /> Create a password credential for each device
          </label>
          <div className="hint">The username is the client ID; the generated passwords are shown once, after the import.</div>
        </div>
        <div aria-live="polite">{outcome && !state.ok && outcome.errors.length > 0 ? null : <ActionMessage state={state} />}</div>
        <SubmitButton pendingText="Importing…">Import devices</SubmitButton>
      </form>

      {outcome && !state.ok && outcome.errors.length > 0 ? <ImportErrors message={state.message} outcome={outcome} /> : null}
      {outcome && state.ok ? <ImportDone tenant={tenant} outcome={outcome} /> : null}
    </div>
  );
}

function ImportErrors({ message, outcome }: { message?: string; outcome: ImportOutcome }) {
  return (
    <section className="card" aria-labelledby="import-errors">
      <h2 id="import-errors">Problems in the file</h2>
      <div className="alert error" role="alert">
        {message ?? "Nothing was imported."} Fix these lines and import again.
      </div>
      <DataTable
        caption="Problems by line"
        head={
          <>
            <th scope="col" className="num">
              Line
            </th>
            <th scope="col">Field</th>
            <th scope="col">Problem</th>
          </>
        }
      >
        {outcome.errors.map((e, i) => (
          <tr key={i}>
            <td className="num">{e.line || "—"}</td>
            <td className="mono small">{e.field}</td>
            <td>{e.message}</td>
          </tr>
        ))}
      </DataTable>
      {outcome.errorCount !== undefined && outcome.errorCount > outcome.errors.length ? (
        <p className="small muted">
          {outcome.errors.length} of {outcome.errorCount} problems shown.
        </p>
      ) : null}
    </section>
  );
}

function ImportDone({ tenant, outcome }: { tenant: string; outcome: ImportOutcome }) {
  const creds = outcome.credentials ?? [];
  const csv = [toCsvLine(["clientId", "username", "mqttUsername", "password"]), ...creds.map((c) => toCsvLine([c.clientId, c.username, `${c.username}@${tenant}`, c.password]))].join("\r\n") + "\r\n";
  return (
    <section className="card" aria-labelledby="import-done">
      <h2 id="import-done">
        {outcome.created} device{outcome.created === 1 ? "" : "s"} imported
      </h2>
      <p>
        <Link href={`/t/${tenant}/devices`}>Go to the device list</Link>
      </p>
      {creds.length > 0 ? (
        <>
          <div className="alert info" role="status">
            <strong>These passwords are shown only once.</strong> Download them now: they are stored only as hashes and cannot be shown again. Devices log in as{" "}
            <code>username@{tenant}</code>.
          </div>
          <div className="row">
            <DownloadButton text={csv} filename={`${tenant}-device-passwords.csv`} type="text/csv" className="primary">
              Download as CSV
            </DownloadButton>
          </div>
          <DataTable
            caption="Generated passwords"
            head={
              <>
                <th scope="col">Client ID</th>
                <th scope="col">MQTT username</th>
                <th scope="col">Password</th>
              </>
            }
          >
            {creds.map((c) => (
              <tr key={c.clientId}>
                <td className="mono">{c.clientId}</td>
                <td className="mono small">
                  {c.username}@{tenant}
                </td>
                <td className="mono small secret-cell">{c.password}</td>
              </tr>
            ))}
          </DataTable>
        </>
      ) : null}
    </section>
  );
}
