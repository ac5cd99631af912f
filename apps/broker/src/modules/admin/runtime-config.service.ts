import { Inject, Injectable } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import type { admin } from "@halyard/api-contract";
import { checkRuntimeOptions, type RuntimeOptions } from "@halyard/engine";
import type { Logger } from "pino";
import type { z } from "zod";
import { problems } from "../../common/problem.ts";
import { CONFIG, ConfigError, compareConfig, ENGINE_SETTINGS, loadConfig, RELOADABLE_SETTINGS, TENANCY_SETTINGS, type ConfigChanges, type HalyardConfig } from "../../config/config.ts";
import { LOGGER, type LogLevel } from "../../logger/logger.ts";
import { MqttService } from "../../mqtt/mqtt.service.ts";
import { AuditService } from "../audit/audit.service.ts";
import type { Principal } from "../auth/principal.ts";
import { DatabaseService } from "../database/database.service.ts";
import { TenantAccess } from "../tenants/tenant-access.service.ts";

type ReloadResult = z.infer<typeof admin.configReloadResult>;
type SettingValue = string | number | boolean | null;

/** Who asked for a change: a platform administrator through the API, or a signal to the process. */
type Origin = { principal: Principal; requestId: string | undefined } | { signal: NodeJS.Signals };

/** The audit actor of a signal: the process itself. */
const SYSTEM: Principal = {
  kind: "user",
  actor: "system",
  subject: "system",
  displayName: "broker process",
  platformAdmin: true,
  tenantRoles: new Map(),
};

/**
 * Settings of the running process: the log level, and re-reading the
 * configuration (the `HALYARD_CONFIG` file; environment variables cannot
 * change inside a running process, and still win over the file) to apply
 * every setting that needs no new listener socket (RELOADABLE_SETTINGS).
 *
 * A new configuration is validated as a whole before anything is applied: an
 * invalid one is refused (400 through the API, an error log for SIGHUP) and
 * the running configuration stays. Changes made through the API are audited
 * in the database first and applied after the commit; SIGHUP applies even
 * when the database is down (its audit record is then only logged).
 *
 * What a new value applies to: new connections get the new MQTT limits
 * (connected clients keep those of their CONNACK), queues and retained limits
 * apply to the next message, authentication settings to the next CONNECT,
 * the log level at once. Over WebSocket the frame size limit set at start
 * stays, so a larger maxPacketSize applies there after a restart.
 */
@Injectable()
export class RuntimeConfigService {
  /** Reads the configuration again (set at start: main.ts re-reads the process environment and HALYARD_CONFIG). */
  source: () => HalyardConfig = () => loadConfig(process.env);

  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(TenantAccess) private readonly access: TenantAccess,
  ) {}

  /** Resolved on use: the MQTT service lives in the root module. */
  private get mqtt(): MqttService {
    return this.moduleRef.get(MqttService, { strict: false });
  }

  logLevel(principal: Principal): { level: LogLevel } {
    this.access.requirePlatformAdmin(principal);
    return { level: this.logger.level as LogLevel };
  }

  async setLogLevel(principal: Principal, level: LogLevel, requestId?: string): Promise<{ level: LogLevel }> {
    this.access.requirePlatformAdmin(principal);
    const before = this.logger.level;
    await this.database.transaction((tx) =>
      this.audit.record(tx, { principal, requestId, tenantId: null, action: "runtime.log-level", resource: "runtime", resourceId: "log-level", before: { level: before }, after: { level } }),
    );
    this.logger.level = level;
    this.config.logLevel = level;
    this.logger.info({ from: before, to: level, actor: principal.actor }, "log level changed");
    return { level };
  }

  current(principal: Principal): { settings: Record<string, SettingValue> } {
    this.access.requirePlatformAdmin(principal);
    const settings: Record<string, SettingValue> = {};
    for (const key of RELOADABLE_SETTINGS) settings[key] = (this.config[key] as SettingValue | undefined) ?? null;
    return { settings };
  }

  /** `POST /api/v1/admin/config/reload`. */
  async reloadFromApi(principal: Principal, requestId?: string): Promise<ReloadResult> {
    this.access.requirePlatformAdmin(principal);
    return this.reload({ principal, requestId });
  }

  /** SIGHUP: never throws; the outcome is logged. */
  async reloadFromSignal(signal: NodeJS.Signals): Promise<ReloadResult | undefined> {
    try {
      return await this.reload({ signal });
    } catch {
      return undefined;
    }
  }

  private async reload(origin: Origin): Promise<ReloadResult> {
    const via = "signal" in origin ? origin.signal : "api";
    let changes: ConfigChanges;
    try {
      changes = compareConfig(this.config, this.source());
      const engine: Partial<RuntimeOptions> = {};
      for (const key of ENGINE_SETTINGS) if (key in changes.apply) (engine as Record<string, unknown>)[key] = changes.apply[key];
      checkRuntimeOptions(engine);
    } catch (err) {
      const message = err instanceof ConfigError || err instanceof RangeError ? err.message : "the configuration could not be read";
      this.logger.error({ via, error: message }, "configuration reload refused; the running configuration is kept");
      throw problems.badRequest(`Configuration not reloaded: ${message}`);
    }
    const applied = changes.apply as Record<string, SettingValue | undefined>;
    const result: ReloadResult = {
      applied: Object.fromEntries(Object.entries(applied).map(([k, v]) => [k, v ?? null])),
      restartRequired: changes.restartRequired,
    };
    const entry = {
      tenantId: null,
      action: "runtime.config-reload",
      resource: "runtime",
      resourceId: "config",
      before: Object.fromEntries(Object.keys(applied).map((k) => [k, this.config[k as keyof HalyardConfig] ?? null])),
      after: { ...result.applied, restartRequired: result.restartRequired },
    };
    if ("principal" in origin) {
      await this.database.transaction((tx) => this.audit.record(tx, { ...entry, principal: origin.principal, requestId: origin.requestId }));
    } else {
      await this.database
        .transaction((tx) => this.audit.record(tx, { ...entry, principal: SYSTEM }))
        .catch((err: unknown) => this.logger.warn({ err, audit: entry }, "configuration reload could not be audited in the database"));
    }
    this.apply(changes);
    this.logger.info({ via, applied: Object.keys(applied), restartRequired: changes.restartRequired }, "configuration reloaded");
    if (changes.restartRequired.length > 0) {
      this.logger.warn({ settings: changes.restartRequired }, "changed settings that apply only after a restart were not applied");
    }
    return result;
  }

  private apply({ apply }: ConfigChanges): void {
    const mqtt = this.mqtt;
    const engine: Record<string, unknown> = {};
    for (const key of ENGINE_SETTINGS) if (key in apply) engine[key] = apply[key];
    mqtt.broker.updateOptions(engine as Partial<RuntimeOptions>);
    for (const key of TENANCY_SETTINGS) if (key in apply) (mqtt.tenancyOptions as unknown as Record<string, unknown>)[key] = apply[key];
    if (apply.logLevel !== undefined) this.logger.level = apply.logLevel;
    if (apply.sysInterval !== undefined) mqtt.sysTopics?.setInterval(apply.sysInterval);
    Object.assign(this.config, apply);
    // TLS: new file names are watched and read; the same names are re-read anyway (an explicit reload).
    const tls = mqtt.tls;
    const c = this.config;
    if (tls && c.tlsCertFile && c.tlsKeyFile) {
      if ("tlsCertFile" in apply || "tlsKeyFile" in apply || "tlsCaFile" in apply) tls.setFiles({ certFile: c.tlsCertFile, keyFile: c.tlsKeyFile, caFile: c.tlsCaFile });
      else tls.refresh();
    }
  }
}
