import { Inject, Injectable } from "@nestjs/common";
import { CompiledAcl } from "@halyard/acl";
import type { schemas } from "@halyard/api-contract";
import { parseSharedFilter } from "@halyard/engine/topic";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { TenantDirectoryRepository } from "../../mqtt/tenancy/tenant-directory.repository.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { DevicesRepository } from "../devices/devices.repository.ts";
import { requireDevice } from "../devices/require-device.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";
import { AccessCheckRepository } from "./access-check.repository.ts";

type Body = z.infer<typeof schemas.accessCheck>;
type Result = z.infer<typeof schemas.accessCheckResult>;

/**
 * "Would the broker let this device publish / subscribe / receive this?"
 *
 * The answer comes from the broker's own decision path, not a second
 * implementation: the rules are read by TenantDirectoryRepository.rulesForDevice
 * (the query the broker compiles a connected device's permissions from),
 * compiled by the same CompiledAcl with the same `${clientid}`/`${username}`
 * values, and decided by CompiledAcl#explain, which shares its matching code
 * with the publish/subscribe/deliver checks the broker makes. A `$share`
 * subscription is checked by its inner filter, as the broker does.
 *
 * A disabled device or a suspended tenant cannot connect at all; the answer
 * is then "denied" whatever the rules say, and the reason says why.
 */
@Injectable()
export class AccessCheckService {
  constructor(
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(TenantDirectoryRepository) private readonly directory: TenantDirectoryRepository,
    @Inject(AccessCheckRepository) private readonly repo: AccessCheckRepository,
    @Inject(DevicesRepository) private readonly devices: DevicesRepository,
    @Inject(TenantAccess) private readonly access: TenantAccess,
  ) {}

  async check(p: Principal, slug: string, body: Body): Promise<Result> {
    const tenant = await this.access.require(p, slug, "tenant_viewer");
    const db = this.database.db;
    const device = await requireDevice(this.devices, db, tenant.id, body.deviceId);
    const usernames = await this.repo.usernames(db, tenant.id, device.id);
    // The broker's `${username}`: the credential's username for a password login, the client id
    // for a certificate or token login. Without a choice, the device's only credential decides.
    let username = usernames.length === 1 ? (usernames[0] as string) : device.clientId;
    if (body.username !== undefined) {
      if (body.username !== device.clientId && !usernames.includes(body.username)) {
        throw problems.badRequest("1 field(s) are invalid.", [
          { path: "username", message: `not a username this device can log in with: one of its credentials' usernames or its client id '${device.clientId}'` },
        ]);
      }
      username = body.username;
    }

    const rules = await this.directory.rulesForDevice(db, tenant.id, device.id);
    const acl = new CompiledAcl(rules, { clientid: device.clientId, username });
    const shared = body.action === "subscribe" ? parseSharedFilter(body.topic) : null;
    const probe = shared && shared !== "invalid" ? shared.filter : body.topic;
    const e = acl.explain(body.action, probe);

    let decidedBy: Result["decidedBy"] = null;
    if (e.rule) {
      const r = e.rule;
      // A role bound twice (to the device and a group) brings its rules twice; its own order is the first copy's.
      const ofRole = [...new Map(rules.filter((x) => x.roleId === r.roleId).map((x) => [x.id, x])).keys()];
      const name = r.via.kind === "device" ? device.clientId : ((await this.repo.groupName(db, tenant.id, r.via.id)) ?? r.via.id);
      decidedBy = {
        roleId: r.roleId,
        roleName: r.roleName,
        ruleId: r.id,
        ruleIndex: ofRole.indexOf(r.id),
        effect: r.effect,
        action: r.action,
        priority: r.priority,
        topicFilter: r.topicFilter,
        expandedFilter: e.filter as string,
        via: { kind: r.via.kind, id: r.via.id, name },
      };
    }

    const blocked = tenant.status !== "active" ? `tenant '${slug}' is suspended` : !device.enabled ? `device '${device.clientId}' is disabled` : undefined;
    const verdict = decidedBy ? `${decidedBy.effect === "allow" ? "allowed" : "denied"} by ${describe(decidedBy)}` : "no matching rule: denied by default";
    return {
      allowed: e.allowed && blocked === undefined,
      decidedBy,
      reason: blocked ? `${blocked}, so the broker refuses its connection (the rules alone: ${verdict})` : verdict,
      evaluatedAs: { clientId: device.clientId, username },
    };
  }
}

function describe(d: NonNullable<Result["decidedBy"]>): string {
  const filter = d.expandedFilter === d.topicFilter ? `'${d.topicFilter}'` : `'${d.topicFilter}' (here '${d.expandedFilter}')`;
  return `rule ${d.ruleIndex + 1} of role '${d.roleName}' (${d.effect} ${d.action} ${filter}, priority ${d.priority}), bound to ${d.via.kind} '${d.via.name}'`;
}
