import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";

/**
 * Which broker process runs which bridge. A bridge is one MQTT session at the
 * remote (one client id), so with several broker processes on one database
 * exactly one of them may run it: the one holding a Postgres session-level
 * advisory lock for the bridge, on a connection of its own. If that process
 * dies, Postgres drops its connection and the locks with it, and another
 * process takes the bridge over at its next attempt. If this process loses
 * its lock connection, it must stop every bridge at once (`onLost`), since
 * another process may already hold them.
 *
 * With the embedded database there is only ever one process: every lease is
 * granted without a lock.
 */
export interface BridgeLeases {
  /** True when this process may run the bridge (takes the lease if free). */
  acquire(bridgeId: string): Promise<boolean>;
  release(bridgeId: string): Promise<void>;
  close(): Promise<void>;
}

export const LEASE_APPLICATION = "halyard-bridge-leases";

/** The 64-bit advisory-lock key of a bridge (namespaced so no other lock user collides). */
export function leaseKey(bridgeId: string): bigint {
  return createHash("sha256").update(`halyard-bridge:${bridgeId}`).digest().readBigInt64BE(0);
}

export function localLeases(): BridgeLeases {
  return { acquire: async () => true, release: async () => undefined, close: async () => undefined };
}

export function postgresLeases(url: string, logger: Logger, onLost: () => void): BridgeLeases {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  const held = new Set<string>();

  const connection = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: url, application_name: LEASE_APPLICATION });
      c.on("error", (err) => logger.warn({ err }, "bridge leases: connection lost"));
      c.once("end", () => {
        if (client === c) client = undefined;
        if (held.size > 0 && !closed) {
          held.clear();
          logger.warn("bridge leases: lock connection lost; stopping bridges until they are leased again");
          onLost();
        }
      });
      await c.connect();
      client = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  return {
    async acquire(bridgeId) {
      if (closed) return false;
      if (held.has(bridgeId)) return true;
      try {
        const c = await connection();
        const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [leaseKey(bridgeId).toString()]);
        if (r.rows[0]?.ok) held.add(bridgeId);
        return r.rows[0]?.ok === true;
      } catch (err) {
        logger.warn({ err, bridgeId }, "bridge leases: cannot take a lease");
        return false;
      }
    },
    async release(bridgeId) {
      if (!held.delete(bridgeId) || !client) return;
      await client.query("SELECT pg_advisory_unlock($1::bigint)", [leaseKey(bridgeId).toString()]).catch(() => undefined);
    },
    async close() {
      closed = true;
      held.clear();
      await client?.end().catch(() => undefined);
    },
  };
}
