/**
 * Just enough CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF, a
 * UTF-8 BOM) to preview an import file in the browser before sending it.
 * The API parses the file again with csv-parse and is the judge of what is
 * valid; this only shows the user what they are about to send.
 */
export interface CsvPreview {
  header: string[];
  rows: { line: number; fields: string[] }[];
  /** Data rows in the whole file (not just the previewed ones). */
  total: number;
}

export function parseCsv(text: string, previewRows = 10): CsvPreview {
  const records = records_(text.startsWith("\uFEFF") ? text.slice(1) : text);
  const [header, ...body] = records;
  return {
    header: header?.fields.map((f) => f.trim()) ?? [],
    rows: body.slice(0, previewRows).map((r) => ({ line: r.line, fields: r.fields.map((f) => f.trim()) })),
    total: body.length,
  };
}

/** Records with the line each starts on; blank lines are skipped (as the API does). */
function records_(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  let touched = false;
  const endRecord = () => {
    fields.push(field);
    if (touched || fields.length > 1 || field.trim() !== "") out.push({ line: start, fields });
    fields = [];
    field = "";
    touched = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      touched = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      touched = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (field !== "" || fields.length > 0 || touched) endRecord();
  return out;
}

/** A CSV line with every field quoted (for the passwords download). */
export function toCsvLine(fields: string[]): string {
  return fields.map((f) => `"${f.replaceAll('"', '""')}"`).join(",");
}
