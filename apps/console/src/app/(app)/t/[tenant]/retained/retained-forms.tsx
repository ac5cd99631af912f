"use client";
import { useActionState } from "react";
import { ConfirmSubmit } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import { clearRetained } from "./actions.ts";

export function ClearRetainedForm({ tenant, topic, query }: { tenant: string; topic: string; query: string }) {
  const [state, action] = useActionState(clearRetained, idleState);
  return (
    <form action={action}>
      <input type="hidden" name="tenant" value={tenant} />
      <input type="hidden" name="topic" value={topic} />
      <input type="hidden" name="query" value={query} />
      <ConfirmSubmit question={`Clear the retained message on '${topic}'? New subscribers will no longer receive it.`}>Clear</ConfirmSubmit>
      {state.message && !state.ok ? (
        <div className="error-text" role="alert">
          {state.message}
        </div>
      ) : null}
    </form>
  );
}
