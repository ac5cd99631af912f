import type { ClientInfo } from "@halyard/engine";

/**
 * A connection-level event of a tenant's device, reported by TenantHooks to
 * whoever listens (the monitoring module's connection log). Emitted only for
 * clients whose tenant exists; never carries a password.
 */
export interface ConnectionEventInput {
  type: "connected" | "disconnected" | "auth_failed";
  /** Tenant slug (the client's mount point without its slash). */
  slug: string;
  at: number;
  clientId: string;
  /** The username as the client sent it. */
  username: string | undefined;
  address: string | undefined;
  /** CONNACK refusal code, or the server's DISCONNECT reason (0 when the client or the network closed). */
  reasonCode: number;
  reasonString?: string | undefined;
  /** The connected client, for `connected` and `disconnected`. */
  client?: ClientInfo;
}

export type ConnectionEventListener = (event: ConnectionEventInput) => void;
