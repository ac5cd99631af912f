import { Inject, Injectable } from "@nestjs/common";
import type { Db } from "../database/database.service.ts";
import type { Principal } from "../auth/principal.ts";
import { AuditRepository } from "./audit.repository.ts";

/** Fields never copied into the audit log, whatever resource they belong to. */
const SECRET_FIELDS = new Set(["passwordHash", "password", "keyHash", "key", "encryptedPrivateKey", "privateKeyPem"]);

export function withoutSecrets(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!SECRET_FIELDS.has(k)) out[k] = withoutSecrets(v);
    return out;
  }
  return value;
}

export interface Change {
  principal: Principal;
  requestId?: string;
  tenantId: string | null;
  action: string;
  resource: string;
  resourceId: string | null;
  before?: unknown;
  after?: unknown;
}

/** Records who changed what, inside the transaction of the change itself. */
@Injectable()
export class AuditService {
  constructor(@Inject(AuditRepository) private readonly repo: AuditRepository) {}

  record(tx: Db, change: Change): Promise<void> {
    return this.repo.append(tx, {
      actor: change.principal.actor,
      tenantId: change.tenantId,
      action: change.action,
      resource: change.resource,
      resourceId: change.resourceId,
      before: withoutSecrets(change.before),
      after: withoutSecrets(change.after),
      requestId: change.requestId ?? null,
    });
  }
}
