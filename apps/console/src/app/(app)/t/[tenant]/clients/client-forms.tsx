"use client";
import { useActionState } from "react";
import { ConfirmSubmit } from "@/components/forms.tsx";
import { idleState } from "@/lib/idle.ts";
import { disconnectClient } from "./actions.ts";

export function DisconnectForm({ tenant, clientId, query }: { tenant: string; clientId: string; query: string }) {
  const [state, action] = useActionState(disconnectClient, idleState);
  return (
    <form action={action}>
      <input type="hidden" name="tenant" value={tenant} />
      <input type="hidden" name="clientId" value={clientId} />
      <input type="hidden" name="query" value={query} />
      <ConfirmSubmit question={`Disconnect client '${clientId}'? It may reconnect at once unless its device or credential is disabled.`}>
        Disconnect
      </ConfirmSubmit>
      {state.message && !state.ok ? (
        <div className="error-text" role="alert">
          {state.message}
        </div>
      ) : null}
    </form>
  );
}
