import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AdminApi, ApiError } from "./api.ts";
import { TENANT, type DeviceSpec, type FactoryPlan, type RoleSpec } from "./factory.ts";

/**
 * Idempotent provisioning of the demo tenant through the admin API: every
 * step looks first and creates (or corrects) only what is missing, so a
 * second run changes nothing and reports everything as "exists".
 *
 * Passwords are shown by the API once. The demo keeps them in a state file
 * (mode 600, under the git-ignored .halyard-data/ by default) so a second run
 * can connect the same devices; when the file does not know a device's
 * password (deleted, or another broker), the credential is rotated rather
 * than a second one created.
 */

interface Tenant {
  slug: string;
  name: string;
  status: "active" | "suspended";
}
interface Device {
  id: string;
  clientId: string;
  description: string | null;
  tags: string[];
  enabled: boolean;
  groupIds: string[];
}
interface Group {
  id: string;
  name: string;
}
interface Role {
  id: string;
  name: string;
  description: string | null;
  rules: { effect: string; action: string; topicFilter: string; priority: number }[];
}
interface Binding {
  id: string;
}
interface Credential {
  id: string;
  username: string;
  enabled: boolean;
  revokedAt: string | null;
  expiresAt: string | null;
}
interface CreatedCredential extends Credential {
  password: string;
}
interface ImportResult {
  created: number;
  credentials?: { clientId: string; username: string; password: string }[];
}

/** One CSV field, always quoted (descriptions may hold commas). */
const csvField = (v: string) => `"${v.replaceAll('"', '""')}"`;

export interface DeviceLogin {
  deviceId: string;
  credentialId: string;
  /** Without the tenant: the MQTT username is `<username>@<tenant>`. */
  username: string;
  password: string;
}

export type Outcome = "created" | "updated" | "exists";

export interface ProvisionReport {
  tenant: Outcome;
  roles: Record<string, Outcome>;
  group: { outcome: Outcome; added: number; members: number };
  devices: { created: number; updated: number; existing: number };
  credentials: { created: number; rotated: number; reused: number };
  bindings: { created: number; existing: number };
  stateFile: string;
}

export interface Provisioned {
  logins: Map<string, DeviceLogin>;
  report: ProvisionReport;
  /** Rotates a device's password (when the broker refuses the stored one) and saves it. */
  rotate(clientId: string): Promise<DeviceLogin>;
}

interface StateFile {
  apiUrl: string;
  tenant: string;
  devices: Record<string, DeviceLogin>;
}

const t = (rest: string) => `/api/v1/tenants/${TENANT.slug}${rest}`;

function readState(file: string, apiUrl: string): StateFile {
  try {
    const s = JSON.parse(readFileSync(file, "utf8")) as StateFile;
    if (s.apiUrl === apiUrl && s.tenant === TENANT.slug && s.devices && typeof s.devices === "object") return s;
  } catch {
    /* missing or unreadable: start afresh */
  }
  return { apiUrl, tenant: TENANT.slug, devices: {} };
}

function writeState(file: string, s: StateFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

const ruleKey = (r: { priority: number; effect: string; action: string; topicFilter: string }) => `${r.priority} ${r.effect} ${r.action} ${r.topicFilter}`;
const sameRules = (a: Role["rules"], b: RoleSpec["rules"]) => a.map(ruleKey).sort().join("\n") === b.map(ruleKey).sort().join("\n");

const sameTags = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

/** Runs `fn` over the items, a few at a time: the API is quick per call, but thousands of devices add up. */
async function pool<T>(items: readonly T[], fn: (item: T) => Promise<void>, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export async function provision(api: AdminApi, plan: FactoryPlan, stateFile: string, log: (line: string) => void = () => {}): Promise<Provisioned> {
  const report: ProvisionReport = {
    tenant: "exists",
    roles: {},
    group: { outcome: "exists", added: 0, members: 0 },
    devices: { created: 0, updated: 0, existing: 0 },
    credentials: { created: 0, rotated: 0, reused: 0 },
    bindings: { created: 0, existing: 0 },
    stateFile,
  };

  // Tenant
  let tenant = await api.find<Tenant>(t(""));
  if (!tenant) {
    tenant = await api.call<Tenant>("POST", "/api/v1/tenants", { slug: TENANT.slug, name: TENANT.name });
    report.tenant = "created";
  }
  if (tenant.status === "suspended") log(`warning: tenant ${TENANT.slug} is suspended; its devices cannot connect until it is resumed`);

  // Roles
  const roles = new Map((await api.all<Role>(t("/roles"))).map((r) => [r.name, r]));
  const roleIds = {} as Record<DeviceSpec["role"], string>;
  for (const [kind, spec] of Object.entries(plan.roles) as [DeviceSpec["role"], RoleSpec][]) {
    const have = roles.get(spec.name);
    if (!have) {
      roleIds[kind] = (await api.call<Role>("POST", t("/roles"), spec)).id;
      report.roles[spec.name] = "created";
    } else if (!sameRules(have.rules, spec.rules) || have.description !== spec.description) {
      roleIds[kind] = (await api.call<Role>("PATCH", t(`/roles/${have.id}`), { description: spec.description, rules: spec.rules })).id;
      report.roles[spec.name] = "updated";
    } else {
      roleIds[kind] = have.id;
      report.roles[spec.name] = "exists";
    }
  }

  // Group of sensors
  const existingGroup = (await api.all<Group>(t("/groups"))).find((g) => g.name === plan.sensorGroup.name);
  const group = existingGroup ?? (await api.call<Group>("POST", t("/groups"), plan.sensorGroup));
  if (!existingGroup) report.group.outcome = "created";

  // Devices: the missing ones in one CSV import (with their group and one generated credential each),
  // which is one transaction however many there are; existing ones are checked one by one.
  let devices = new Map((await api.all<Device>(t("/devices"))).map((d) => [d.clientId, d]));
  const missing = plan.devices.filter((d) => !devices.has(d.clientId));
  const imported = new Map<string, string>();
  if (missing.length > 0) {
    const csv = [
      "clientId,description,tags,groups",
      ...missing.map((d) => [d.clientId, d.description, d.tags.join(";"), d.role === "sensor" ? plan.sensorGroup.name : ""].map(csvField).join(",")),
    ].join("\n");
    const result = await api.call<ImportResult>("POST", t("/devices/import"), { csv, createCredentials: true });
    report.devices.created = result.created;
    for (const c of result.credentials ?? []) imported.set(c.clientId, c.password);
    report.credentials.created += imported.size;
    devices = new Map((await api.all<Device>(t("/devices"))).map((d) => [d.clientId, d]));
  }
  const ids = new Map<string, string>();
  await pool(plan.devices, async (spec) => {
    let d = devices.get(spec.clientId);
    if (!d) throw new Error(`device ${spec.clientId} is missing after the import`);
    const isNew = missing.includes(spec);
    if (isNew) {
      // Created just now, as planned.
    } else if (!d.enabled || d.description !== spec.description || !sameTags(d.tags, spec.tags)) {
      d = await api.call<Device>("PATCH", t(`/devices/${d.id}`), { description: spec.description, tags: spec.tags, enabled: true });
      report.devices.updated++;
    } else {
      report.devices.existing++;
    }
    ids.set(spec.clientId, d.id);
    if (spec.role === "sensor") {
      report.group.members++;
      if (isNew) report.group.added++;
      else if (!d.groupIds.includes(group.id)) {
        await api.call("PUT", t(`/groups/${group.id}/members/${d.id}`));
        report.group.added++;
      }
    }
  });
  if (report.group.outcome === "exists" && report.group.added > 0) report.group.outcome = "updated";

  // Bindings: the sensor role to the group, the others to their device.
  const targets: { role: DeviceSpec["role"]; targetType: "device" | "group"; targetId: string }[] = [
    { role: "sensor", targetType: "group", targetId: group.id },
    { role: "controller", targetType: "device", targetId: ids.get(plan.controller.clientId)! },
    { role: "gateway", targetType: "device", targetId: ids.get(plan.gateway.clientId)! },
  ];
  for (const b of targets) {
    const roleId = roleIds[b.role];
    const existing = await api.get<{ total: number; items: Binding[] }>(t(`/bindings?roleId=${roleId}&targetType=${b.targetType}&targetId=${b.targetId}`));
    if (existing.total > 0) {
      report.bindings.existing++;
      continue;
    }
    await api.call("POST", t("/bindings"), { roleId, targetType: b.targetType, targetId: b.targetId });
    report.bindings.created++;
  }

  // Credentials: reuse what the state file knows, rotate what it does not, create what is missing.
  const state = readState(stateFile, api.baseUrl);
  const logins = new Map<string, DeviceLogin>();
  const usable = (c: Credential) => !c.revokedAt && c.enabled && (!c.expiresAt || new Date(c.expiresAt).getTime() > Date.now() + 3600_000);
  await pool(plan.devices, async (spec) => {
    const deviceId = ids.get(spec.clientId)!;
    const creds = await api.all<Credential>(t(`/devices/${deviceId}/credentials`));
    const fresh = imported.get(spec.clientId);
    const importedCredential = fresh === undefined ? undefined : creds.find((c) => c.username === spec.clientId && !c.revokedAt);
    if (fresh !== undefined && importedCredential) {
      const login = { deviceId, credentialId: importedCredential.id, username: importedCredential.username, password: fresh };
      logins.set(spec.clientId, login);
      state.devices[spec.clientId] = login;
      return;
    }
    const known = state.devices[spec.clientId];
    const stored = known && known.deviceId === deviceId ? creds.find((c) => c.id === known.credentialId && usable(c)) : undefined;
    let login: DeviceLogin;
    if (stored && known) {
      login = known;
      report.credentials.reused++;
    } else {
      const reusable = creds.find((c) => c.username === spec.clientId && !c.revokedAt);
      let created: CreatedCredential;
      if (reusable) {
        created = await api.call<CreatedCredential>("POST", t(`/devices/${deviceId}/credentials/${reusable.id}/rotate`));
        if (!reusable.enabled || reusable.expiresAt) {
          await api.call("PATCH", t(`/devices/${deviceId}/credentials/${reusable.id}`), { enabled: true, expiresAt: null });
        }
        report.credentials.rotated++;
      } else {
        // A revoked credential keeps its username for good: then the new one gets a suffixed username.
        const taken = creds.some((c) => c.username === spec.clientId);
        created = await api.call<CreatedCredential>("POST", t(`/devices/${deviceId}/credentials`), taken ? { username: `${spec.clientId}-${Date.now().toString(36)}` } : {});
        report.credentials.created++;
      }
      login = { deviceId, credentialId: created.id, username: created.username, password: created.password };
    }
    logins.set(spec.clientId, login);
    state.devices[spec.clientId] = login;
  });
  writeState(stateFile, state);

  return {
    logins,
    report,
    async rotate(clientId: string) {
      const current = logins.get(clientId);
      if (!current) throw new Error(`unknown device ${clientId}`);
      let created: CreatedCredential;
      try {
        created = await api.call<CreatedCredential>("POST", t(`/devices/${current.deviceId}/credentials/${current.credentialId}/rotate`));
      } catch (err) {
        if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 409)) throw err;
        created = await api.call<CreatedCredential>("POST", t(`/devices/${current.deviceId}/credentials`), { username: `${clientId}-${Date.now().toString(36)}` });
      }
      const login = { ...current, credentialId: created.id, username: created.username, password: created.password };
      logins.set(clientId, login);
      state.devices[clientId] = login;
      writeState(stateFile, state);
      return login;
    },
  };
}
