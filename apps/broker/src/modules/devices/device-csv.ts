import { CsvError, parse } from "csv-parse/sync";
import { schemas } from "@halyard/api-contract";
import type { z } from "zod";

/**
 * Reading a device import file (CSV, parsed by csv-parse) into rows, with
 * every problem found in the file itself: the header, quoting, field counts,
 * each row checked with the very schema POST /devices uses, and client ids
 * repeated within the file. What needs the database (client ids taken,
 * group names) is checked by the service.
 *
 * Format: a header naming the columns `clientId,description,tags,groups` in
 * any order (only clientId is required; names are matched without regard to
 * case), then one device per line. `tags` and `groups` hold `;`-separated
 * lists; groups are named. Whitespace around a field is ignored (quote a
 * field to keep it), empty lines are skipped, a UTF-8 BOM is allowed.
 */

export type ImportError = z.infer<typeof schemas.importError>;

export interface CsvDevice {
  /** Line of the file where the row starts (the header is line 1). */
  line: number;
  clientId: string;
  description: string | undefined;
  tags: string[];
  groups: string[];
}

export type CsvReadResult = { tooManyRows: true } | { tooManyRows: false; rows: CsvDevice[]; errors: ImportError[] };

const COLUMNS = ["clientId", "description", "tags", "groups"] as const;
type Column = (typeof COLUMNS)[number];

/** `a; b;;c` -> `["a", "b", "c"]`, first occurrence kept. */
function list(value: string | undefined): string[] {
  return [...new Set((value ?? "").split(";").map((s) => s.trim()).filter((s) => s.length > 0))];
}

export function readDeviceCsv(csv: string): CsvReadResult {
  let records: { info: { lines: number }; record: string[] }[];
  try {
    // Header + the maximum + one more: enough to tell "too many" without reading a huge file to the end.
    // With `info`, csv-parse returns { info, record } per record (its typings do not say so).
    records = parse(csv, { info: true, bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, to: schemas.DEVICE_IMPORT_MAX_ROWS + 2 }) as unknown as typeof records;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = typeof err.lines === "number" ? err.lines : 1;
    return { tooManyRows: false, rows: [], errors: [{ line, field: "(file)", message: `not valid CSV: ${err.message}` }] };
  }
  const [header, ...body] = records;
  if (!header) return { tooManyRows: false, rows: [], errors: [{ line: 1, field: "(file)", message: "the file is empty; it needs a header line (clientId,description,tags,groups) and one line per device" }] };
  if (body.length > schemas.DEVICE_IMPORT_MAX_ROWS) return { tooManyRows: true };

  const errors: ImportError[] = [];
  const headerLine = startLine(header);
  const index = new Map<Column, number>();
  header.record.forEach((name, i) => {
    const column = COLUMNS.find((c) => c.toLowerCase() === name.toLowerCase());
    if (!column) errors.push({ line: headerLine, field: name || `(column ${i + 1})`, message: `unknown column '${name}'; the columns are ${COLUMNS.join(", ")}` });
    else if (index.has(column)) errors.push({ line: headerLine, field: column, message: `the column '${column}' appears twice` });
    else index.set(column, i);
  });
  if (!index.has("clientId")) errors.push({ line: headerLine, field: "clientId", message: "the header must name a clientId column" });
  if (errors.length > 0) return { tooManyRows: false, rows: [], errors };
  if (body.length === 0) return { tooManyRows: false, rows: [], errors: [{ line: headerLine, field: "(file)", message: "the file has a header but no device lines" }] };

  const rows: CsvDevice[] = [];
  const firstLineOf = new Map<string, number>();
  for (const r of body) {
    const line = startLine(r);
    if (r.record.length > header.record.length) {
      errors.push({ line, field: "(line)", message: `${r.record.length} fields, but the header names ${header.record.length} columns (quote fields that contain commas)` });
      continue;
    }
    const get = (c: Column) => {
      const i = index.get(c);
      return i === undefined ? undefined : r.record[i];
    };
    const row: CsvDevice = { line, clientId: get("clientId") ?? "", description: get("description") || undefined, tags: list(get("tags")), groups: list(get("groups")) };
    // The same rules as POST /devices, by the same schema.
    const checked = schemas.createDevice.safeParse({ clientId: row.clientId, ...(row.description !== undefined ? { description: row.description } : {}), tags: row.tags });
    if (!checked.success) {
      for (const issue of checked.error.issues) {
        const [field, i] = issue.path;
        const value = field === "tags" && typeof i === "number" ? `'${row.tags[i]}': ` : "";
        errors.push({ line, field: String(field ?? "(line)"), message: value + issue.message });
      }
      continue;
    }
    const first = firstLineOf.get(row.clientId);
    if (first !== undefined) {
      errors.push({ line, field: "clientId", message: `the client id '${row.clientId}' is already on line ${first}` });
      continue;
    }
    firstLineOf.set(row.clientId, line);
    rows.push(row);
  }
  return { tooManyRows: false, rows, errors };
}

/** csv-parse reports the line a record ends on; a quoted field may span lines. */
function startLine(r: { info: { lines: number }; record: string[] }): number {
  let breaks = 0;
  for (const field of r.record) for (const ch of field) if (ch === "\n") breaks++;
  return r.info.lines - breaks;
}
