import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import { schemas } from "@halyard/api-contract";
import type { z } from "zod";
import { ProblemException, problems } from "../../common/problem.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { generatePassword, hashGeneratedSecret } from "../auth/secrets.ts";
import { DatabaseService } from "../database/database.service.ts";
import { orderedRuleIds } from "../roles/rule-ids.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { readDeviceCsv, type CsvDevice, type ImportError } from "./device-csv.ts";
import { DevicesRepository, type ImportRow } from "./devices.repository.ts";
import { LiveClients } from "./live-clients.ts";

type DeviceRow = NonNullable<Awaited<ReturnType<DevicesRepository["find"]>>>;

export function toDeviceDto(d: DeviceRow, connected: boolean): z.infer<typeof schemas.device> {
  return {
    id: d.id,
    clientId: d.clientId,
    description: d.description,
    tags: d.tags,
    enabled: d.enabled,
    groupIds: d.groups.map((g) => g.groupId),
    connected,
    createdAt: d.createdAt.toISOString(),
    updatedAt: d.updatedAt.toISOString(),
  };
}

@Injectable()
export class DevicesService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(DevicesRepository) private readonly repo: DevicesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(LiveClients) private readonly live: LiveClients,
  ) {}

  private dto(slug: string, row: DeviceRow) {
    return toDeviceDto(row, this.live.isConnected(slug, row.clientId));
  }

  /**
   * `connected` filters on the live connections of this process: their
   * client ids go into the query, so paging and totals stay exact.
   */
  async list(p: Principal, slug: string, q: z.infer<typeof schemas.deviceListQuery>) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const { page, pageSize, connected, ...filter } = q;
    const f = connected === undefined ? filter : { ...filter, connected: { is: connected, clientIds: this.live.clientIds(slug) } };
    const { items, total } = await this.repo.list(this.database.db, tenant.id, f, (page - 1) * pageSize, pageSize);
    return { items: items.map((d) => this.dto(slug, d)), page, pageSize, total };
  }

  async get(p: Principal, slug: string, id: string) {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const row = await this.repo.find(this.database.db, tenant.id, id);
    if (!row) throw problems.notFound("Device");
    return this.dto(slug, row);
  }

  async create(p: Principal, slug: string, body: z.infer<typeof schemas.createDevice>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx) => {
      if (await this.repo.findByClientId(tx, tenant.id, body.clientId)) {
        throw problems.conflict(`A device with client id '${body.clientId}' exists in tenant '${slug}'.`);
      }
      const row = await this.repo.create(tx, {
        id: randomUUID(),
        tenantId: tenant.id,
        clientId: body.clientId,
        description: body.description ?? null,
        tags: [...new Set(body.tags ?? [])],
        enabled: body.enabled ?? true,
      });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "device.create", resource: "device", resourceId: row.id, after: row });
      return this.dto(slug, row);
    });
  }

  async update(p: Principal, slug: string, id: string, body: z.infer<typeof schemas.updateDevice>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    return this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Device");
      changes.emit({ kind: "device", tenantId: tenant.id, id });
      const row = await this.repo.update(tx, id, {
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.tags !== undefined ? { tags: [...new Set(body.tags)] } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      });
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "device.update", resource: "device", resourceId: id, before, after: row });
      return this.dto(slug, row);
    });
  }

  /** Removes the device (its credentials, certificates and group memberships cascade) and the role bindings that targeted it. */
  async delete(p: Principal, slug: string, id: string, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    await this.database.transaction(async (tx, changes) => {
      const before = await this.repo.find(tx, tenant.id, id);
      if (!before) throw problems.notFound("Device");
      changes.emit({ kind: "device", tenantId: tenant.id, id });
      const { bindings } = await this.repo.delete(tx, tenant.id, id);
      await this.audit.record(tx, { principal: p, requestId, tenantId: tenant.id, action: "device.delete", resource: "device", resourceId: id, before: { ...before, bindings } });
    });
  }

  /**
   * Bulk import, all or nothing: every row is checked first (the file itself,
   * then client ids taken in the tenant, group names and, with
   * createCredentials, usernames), and if any row is wrong nothing is created
   * and every problem comes back (422) with its line. Otherwise every device,
   * its group memberships and its credential are created in one transaction,
   * audited once. Generated passwords are in this response only.
   */
  async importCsv(p: Principal, slug: string, body: z.infer<typeof schemas.importDevices>, requestId?: string) {
    const tenant = await this.access.require(p, slug, "tenant_operator");
    const file = readDeviceCsv(body.csv);
    if (file.tooManyRows) {
      throw new ProblemException({
        type: "https://halyard.dev/problems/too-many-rows",
        title: "Payload too large",
        status: 413,
        detail: `An import takes at most ${schemas.DEVICE_IMPORT_MAX_ROWS.toLocaleString("en")} devices; split the file.`,
      });
    }
    // A file that could not be read (header, quoting) has no rows to check further.
    if (file.rows.length === 0 && file.errors.length > 0) throw importRefused(file.errors);
    const withCredentials = body.createCredentials === true;
    // Secrets are made before the transaction (a few hundred ms for 10,000) to keep it short; unused if a row is refused.
    const secrets = withCredentials ? file.rows.map(() => generatePassword()).map((password) => ({ password, hash: hashGeneratedSecret(password) })) : [];
    return this.database.transaction(async (tx, changes) => {
      // The rows that passed the file checks are checked against the tenant too, so every problem shows at once.
      const errors: ImportError[] = [...file.errors];
      const clientIds = file.rows.map((r) => r.clientId);
      const taken = await this.repo.existingClientIds(tx, tenant.id, clientIds);
      const groups = await this.repo.groupIdsByName(tx, tenant.id);
      const usernamesTaken = withCredentials ? await this.repo.takenUsernames(tx, tenant.id, clientIds) : new Set<string>();
      for (const r of file.rows) {
        if (taken.has(r.clientId)) errors.push({ line: r.line, field: "clientId", message: `a device with the client id '${r.clientId}' exists in tenant '${slug}'` });
        const unknown = r.groups.filter((g) => !groups.has(g));
        if (unknown.length > 0) errors.push({ line: r.line, field: "groups", message: `no group named ${unknown.map((g) => `'${g}'`).join(", ")} in tenant '${slug}'` });
        if (withCredentials) {
          if (!schemas.credentialUsername.safeParse(r.clientId).success) {
            errors.push({ line: r.line, field: "clientId", message: "the client id cannot be a credential username (it contains '@'); import without createCredentials and add its credential separately" });
          } else if (usernamesTaken.has(r.clientId)) {
            errors.push({ line: r.line, field: "clientId", message: `the username '${r.clientId}' (the client id) is taken by another credential of this tenant` });
          }
        }
      }
      if (errors.length > 0) throw importRefused(errors);

      const ids = orderedRuleIds(file.rows.length); // UUIDv7 in file order: the list shows devices as the file had them
      const passwords: { clientId: string; username: string; password: string }[] = [];
      const rows: ImportRow[] = file.rows.map((r: CsvDevice, i) => {
        const row: ImportRow = { id: ids[i] as string, clientId: r.clientId, description: r.description ?? null, tags: r.tags, groupIds: r.groups.map((g) => groups.get(g) as string) };
        const secret = secrets[i];
        if (secret) {
          row.credential = { id: randomUUID(), username: r.clientId, passwordHash: secret.hash };
          passwords.push({ clientId: r.clientId, username: r.clientId, password: secret.password });
        }
        return row;
      });
      await this.repo.insertImport(tx, tenant.id, rows);
      await this.audit.record(tx, {
        principal: p,
        requestId,
        tenantId: tenant.id,
        action: "device.import",
        resource: "device",
        resourceId: null,
        after: {
          count: rows.length,
          createCredentials: withCredentials,
          devices: rows.map((r) => ({ id: r.id, clientId: r.clientId, ...(r.credential ? { credentialId: r.credential.id } : {}) })),
        },
      });
      // The broker may have cached "no such username" from earlier CONNECTs. Any credential
      // event drops every cached miss, so one event covers the batch (one NOTIFY payload is
      // limited to 8,000 bytes; an event per credential would not fit).
      const first = rows[0]?.credential;
      if (first) changes.emit({ kind: "credential", tenantId: tenant.id, id: first.id });
      return { created: rows.length, errors: [], ...(withCredentials ? { credentials: passwords } : {}) } satisfies z.infer<typeof schemas.importDevicesResult>;
    });
  }
}

/** At most this many problems are listed; the count says how many there were. */
const MAX_LISTED_ERRORS = 1000;

/** 422 with the import result shape (`created: 0`, `errors`) inside a problem document. */
function importRefused(errors: ImportError[]): ProblemException {
  const sorted = [...errors].sort((a, b) => a.line - b.line);
  const listed = sorted.slice(0, MAX_LISTED_ERRORS);
  const lines = new Set(errors.map((e) => e.line)).size;
  return new ProblemException({
    type: "https://halyard.dev/problems/import-invalid",
    title: "Import refused",
    status: 422,
    detail:
      `Nothing was imported: ${errors.length} problem(s) on ${lines} line(s)` +
      (listed.length < sorted.length ? `; the first ${listed.length} are listed.` : "."),
    created: 0,
    errorCount: errors.length,
    // `path` makes each entry a problem error like any other; line and field are what the console shows.
    errors: listed.map((e) => ({ ...e, path: `line ${e.line}: ${e.field}` })),
  } as ProblemException["problem"]);
}
