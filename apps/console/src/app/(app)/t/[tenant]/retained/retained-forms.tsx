"use client";
import { ConfirmForm } from "@/components/parts/confirm-form.tsx";
import { clearRetained } from "./actions.ts";

export function ClearRetainedForm({ tenant, topic, query }: { tenant: string; topic: string; query: string }) {
  return (
    <ConfirmForm action={clearRetained} fields={{ tenant, topic, query }} question={`Clear the retained message on '${topic}'? New subscribers will no longer receive it.`}>
      Clear
    </ConfirmForm>
  );
}
