import { randomUUID } from "node:crypto";
import { Inject, Injectable } from "@nestjs/common";
import type { TenantRole } from "@halyard/api-contract";
import type { Logger } from "pino";
import { CONFIG, type HalyardConfig } from "../../config/config.ts";
import { problems } from "../../common/problem.ts";
import { LOGGER } from "../../logger/logger.ts";
import { DatabaseService } from "../database/database.service.ts";
import { LocalSessions, LOCAL_SESSION_ISSUER, unverifiedIssuer } from "./local-session.ts";
import { IdentityProviderUnavailableError, OidcVerifier, TokenRejectedError } from "./oidc-verifier.ts";
import type { Principal } from "./principal.ts";
import { apiKeyMatches, generatePassword, hashPassword, parseApiKey, verifyPassword } from "./secrets.ts";
import { UsersRepository } from "./users.repository.ts";

export const LOCAL_SESSIONS = Symbol("LocalSessions");

type UserWithMemberships = NonNullable<Awaited<ReturnType<UsersRepository["findById"]>>>;

/**
 * Turns the Authorization header into a Principal. Three kinds of bearer:
 * API keys (`hyd_...`), local sessions (JWT from our own issuer), and OIDC
 * access tokens from the configured provider (Keycloak). Tenant roles come
 * from the token's groups (`/tenants/<slug>/<role>`) and from memberships
 * stored for the user, the higher of the two winning.
 */
@Injectable()
export class AuthService {
  private readonly oidc: OidcVerifier | undefined;
  /** Verified against when the username is unknown, so timing does not reveal which usernames exist. */
  private readonly dummyHash = hashPassword(randomUUID());

  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(UsersRepository) private readonly users: UsersRepository,
    @Inject(LOCAL_SESSIONS) private readonly sessions: LocalSessions,
  ) {
    this.oidc = config.oidcIssuer
      ? new OidcVerifier({ issuer: config.oidcIssuer, audience: config.oidcAudience, ...(config.oidcJwksUri ? { jwksUri: config.oidcJwksUri } : {}) })
      : undefined;
  }

  /** Creates the local administrator on first start; prints a generated password once. */
  async ensureLocalAdmin(): Promise<void> {
    const db = this.database.db;
    if ((await this.users.countLocal(db)) > 0) return;
    const username = this.config.adminUsername;
    const password = this.config.adminPassword ?? generatePassword();
    await this.users.createLocalAdmin(db, randomUUID(), username, await hashPassword(password));
    this.logger.info({ username }, "local administrator created");
    if (!this.config.adminPassword) {
      // Printed, not logged: the log pipeline must never carry secrets.
      process.stdout.write(
        `\n  Halyard local administrator\n    username: ${username}\n    password: ${password}\n  (shown once; set HALYARD_ADMIN_PASSWORD to choose it)\n\n`,
      );
    }
  }

  async login(username: string, password: string): Promise<string> {
    const user = await this.users.findLocal(this.database.db, username);
    const ok = await verifyPassword(user?.passwordHash ?? (await this.dummyHash), password);
    if (!user || !ok) throw problems.unauthorized("Unknown username or wrong password.");
    await this.users.touchLogin(this.database.db, user.id);
    return this.sessions.issue(user.id);
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const m = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!m) throw problems.unauthorized();
    const token = m[1] as string;
    if (token.startsWith("hyd_")) return this.fromApiKey(token);
    if (unverifiedIssuer(token) === LOCAL_SESSION_ISSUER) {
      const userId = await this.sessions.verify(token);
      const user = userId ? await this.users.findById(this.database.db, userId) : null;
      if (!user) throw problems.unauthorized("The session is invalid or has expired.");
      return fromUser(user, new Map());
    }
    if (!this.oidc) throw problems.unauthorized("This token's issuer is not trusted.");
    let identity;
    try {
      identity = await this.oidc.verify(token);
    } catch (err) {
      if (err instanceof TokenRejectedError) throw problems.unauthorized(`Token rejected: ${err.reason.replace(/_/g, " ")}.`);
      if (err instanceof IdentityProviderUnavailableError) throw problems.unavailable("The identity provider cannot be reached to check the token.");
      throw err;
    }
    if (identity.kind === "client") {
      return {
        kind: "client",
        actor: `client:${identity.subject}`,
        subject: identity.subject,
        displayName: identity.username ?? null,
        platformAdmin: identity.platformAdmin,
        tenantRoles: identity.tenantRoles,
      };
    }
    const user = await this.users.upsertOidc(this.database.db, randomUUID(), identity.issuer, identity.subject, identity.email, identity.username);
    const principal = fromUser(user, identity.tenantRoles);
    principal.platformAdmin ||= identity.platformAdmin;
    return principal;
  }

  private async fromApiKey(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    const row = parsed ? await this.users.findApiKeyByPrefix(this.database.db, parsed.prefix) : null;
    if (!row || !apiKeyMatches(key, row.keyHash)) throw problems.unauthorized("Unknown API key.");
    if (row.revokedAt) throw problems.unauthorized("The API key was revoked.");
    if (row.expiresAt && row.expiresAt <= new Date()) throw problems.unauthorized("The API key has expired.");
    void this.users.touchApiKey(this.database.db, row.id).catch(() => undefined);
    const tenantRoles = new Map<string, TenantRole>();
    if (row.tenant && row.role) tenantRoles.set(row.tenant.slug, row.role);
    return { kind: "apikey", actor: `apikey:${row.id}`, subject: row.id, displayName: row.name, platformAdmin: row.platformAdmin, tenantRoles };
  }
}

const RANK: Record<TenantRole, number> = { tenant_viewer: 1, tenant_operator: 2, tenant_admin: 3 };

function fromUser(user: UserWithMemberships, fromToken: Map<string, TenantRole>): Principal {
  const tenantRoles = new Map(fromToken);
  for (const m of user.memberships) {
    const current = tenantRoles.get(m.tenant.slug);
    if (!current || RANK[m.role] > RANK[current]) tenantRoles.set(m.tenant.slug, m.role);
  }
  return {
    kind: "user",
    actor: `user:${user.id}`,
    subject: user.subject,
    displayName: user.displayName ?? user.email ?? user.subject,
    platformAdmin: user.platformRole === "platform_admin",
    tenantRoles,
  };
}
