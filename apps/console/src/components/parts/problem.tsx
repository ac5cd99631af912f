import { ApiError } from "@/lib/api.ts";
import { ErrorPanel } from "@/components/ui.tsx";

/** ErrorPanel plus the API's per-field problems (a 400 on a filter says which parameter is wrong). */
export function ProblemPanel({ error, fieldNames = {} }: { error: unknown; fieldNames?: Record<string, string> }) {
  const errors = error instanceof ApiError ? (error.problem.errors ?? []) : [];
  if (errors.length === 0) return <ErrorPanel error={error} />;
  return (
    <div className="alert error" role="alert">
      <strong>{error instanceof ApiError && error.status === 400 ? "These filters are not valid" : (error as ApiError).problem.title}</strong>
      <ul className="problem-list">
        {errors.map((e) => (
          <li key={e.path}>
            {fieldNames[e.path] ?? e.path}: {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
