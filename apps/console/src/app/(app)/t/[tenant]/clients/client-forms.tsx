"use client";
import { ConfirmForm } from "@/components/parts/confirm-form.tsx";
import { disconnectClient } from "./actions.ts";

export function DisconnectForm({ tenant, clientId, query }: { tenant: string; clientId: string; query: string }) {
  return (
    <ConfirmForm action={disconnectClient} fields={{ tenant, clientId, query }} question={`Disconnect client '${clientId}'? It may reconnect at once unless its device or credential is disabled.`}>
      Disconnect
    </ConfirmForm>
  );
}
