/**
 * Field-level diff of an audit event's before/after snapshots: nested
 * objects and arrays are flattened to paths (`rules.2.topicFilter`), and
 * only paths whose value differs are listed. The broker strips secrets
 * before recording, so nothing here needs redacting.
 */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
  kind: "added" | "removed" | "changed";
}

const MAX_CHANGES = 300;

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) {
      out.set(prefix || "(value)", value);
      return;
    }
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  out.set(prefix || "(value)", value);
}

export function diff(before: unknown, after: unknown): { changes: FieldChange[]; truncated: boolean } {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before !== null && before !== undefined) flatten(before, "", a);
  if (after !== null && after !== undefined) flatten(after, "", b);
  const paths = [...new Set([...a.keys(), ...b.keys()])];
  const changes: FieldChange[] = [];
  for (const path of paths) {
    const inA = a.has(path);
    const inB = b.has(path);
    const va = a.get(path);
    const vb = b.get(path);
    if (inA && inB && JSON.stringify(va) === JSON.stringify(vb)) continue;
    changes.push({ path, before: va, after: vb, kind: !inA ? "added" : !inB ? "removed" : "changed" });
  }
  return { changes: changes.slice(0, MAX_CHANGES), truncated: changes.length > MAX_CHANGES };
}

export function show(value: unknown): string {
  if (value === undefined) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
