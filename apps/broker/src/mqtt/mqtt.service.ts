import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from "@nestjs/common";
import path from "node:path";
import { Broker, ReasonCode } from "@halyard/engine";
import { LmdbStore } from "@halyard/store-lmdb";
import { listenTcp, listenTls, listenWs, type Listener, type TransportInfo } from "@halyard/transport";
import type { Logger } from "pino";
import type { Duplex } from "node:stream";
import { CONFIG, type HalyardConfig } from "../config/config.ts";
import { LOGGER } from "../logger/logger.ts";
import { OidcVerifier } from "../modules/auth/oidc-verifier.ts";
import { DatabaseService } from "../modules/database/database.service.ts";
import { TenantDirectory } from "./tenancy/tenant-directory.ts";
import { TenantDirectoryRepository } from "./tenancy/tenant-directory.repository.ts";
import { ANONYMOUS_MOUNT, TenantHooks, type TenancyOptions } from "./tenancy/tenant-hooks.ts";
import { SysTopics } from "./sys-topics.ts";
import packageJson from "../../package.json" with { type: "json" };
import { TlsMaterialSource } from "./tls-material.ts";
import { authDurationHistogram, observeHooks } from "../metrics/observed-hooks.ts";
import { BridgeManager } from "./bridges/bridge-manager.ts";

/**
 * Owns the engine and its listeners: the only place where the framework-free
 * broker meets sockets and configuration.
 */
@Injectable()
export class MqttService implements OnModuleInit, OnApplicationShutdown {
  readonly broker: Broker;
  readonly tenancy: TenantHooks;
  /** Read by the tenancy layer on every CONNECT; a configuration reload changes it in place. */
  readonly tenancyOptions: TenancyOptions;
  /** `halyard_auth_duration_seconds`, observed around the authenticate hook, registered by MetricsService. */
  readonly authDuration = authDurationHistogram();
  /** The tenants' bridges to remote brokers (mqtt/bridges). */
  readonly bridges: BridgeManager;
  private sys: SysTopics | undefined;
  private closing: Promise<void> | undefined;
  private tlsSource: TlsMaterialSource | undefined;
  private listeners: Listener[] = [];
  private ready = false;

  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DatabaseService) private readonly database: DatabaseService,
    @Inject(TenantDirectoryRepository) directoryRepository: TenantDirectoryRepository,
  ) {
    const tokens = config.oidcIssuer
      ? new OidcVerifier({ issuer: config.oidcIssuer, audience: config.oidcAudience, ...(config.oidcJwksUri ? { jwksUri: config.oidcJwksUri } : {}) })
      : undefined;
    this.tenancyOptions = {
      usernameSeparator: config.usernameSeparator,
      sniDomain: config.sniDomain,
      anonymous: config.anonymous,
      maxAuthFailuresPerMinute: config.maxAuthFailuresPerMinute,
    };
    this.tenancy = new TenantHooks(new TenantDirectory(database, directoryRepository), this.tenancyOptions, tokens, logger);
    // Opened here so a damaged data directory stops the boot with its own message.
    const store =
      config.store === "lmdb"
        ? LmdbStore.open({ dir: path.join(config.dataDir, "broker"), durability: config.durability, maxBytes: config.maxStoreBytes })
        : undefined;
    this.broker = new Broker({
      // Authentication timed and connections logged around the tenancy layer (metrics/observed-hooks.ts).
      hooks: observeHooks(this.tenancy, { logger, authDuration: this.authDuration, usernameSeparator: () => this.tenancyOptions.usernameSeparator }),
      sessionStore: store?.sessions,
      retainedStore: store?.retained,
      maxPacketSize: config.maxPacketSize,
      maxQueuedMessages: config.maxQueuedMessages,
      maxQueuedBytes: config.maxQueuedBytes,
      queueOverflow: config.queueOverflow,
      queueQos0Offline: config.queueQos0Offline,
      receiveMaximum: config.receiveMaximum,
      maxInflightOut: config.maxInflightOut,
      maxKeepAlive: config.maxKeepAlive,
      maxSessionExpiryInterval: config.maxSessionExpiryInterval,
      topicAliasMaximum: config.topicAliasMaximum,
      maxRetainedMessages: config.maxRetainedMessages,
    });
    this.bridges = new BridgeManager(this.broker, database, logger);
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The $SYS publisher (its interval changes on a configuration reload); undefined before start. */
  get sysTopics(): SysTopics | undefined {
    return this.sys;
  }

  /** Certificate, key and client-certificate trust of the TLS/WSS listeners; undefined without TLS. */
  get tls(): TlsMaterialSource | undefined {
    return this.tlsSource;
  }

  /** Bound ports by listener name (tcp, ws, tls, wss). */
  get ports(): Record<string, number> {
    return Object.fromEntries(this.listeners.map((l) => [l.name, l.port]));
  }

  async onModuleInit(): Promise<void> {
    const c = this.config;
    this.tenancy.attach(this.broker);
    this.database.onChange((event) => {
      this.bridges.onChange(event);
      // Bridge changes concern no connected device.
      if (event.kind === "bridge") return;
      this.tenancy.onChange(event).catch((err: unknown) => this.logger.error({ err, event }, "applying a control-plane change failed"));
    });
    await this.broker.open();
    // Broker-wide $SYS is mirrored to anonymous clients while they are loopback-only (the local administrator).
    const globalSysMounts = () => (this.tenancyOptions.anonymous === "local" ? [ANONYMOUS_MOUNT] : []);
    this.sys = new SysTopics(this.broker, this.tenancy.stats, packageJson.version, c.sysInterval, globalSysMounts);
    this.sys.start();
    this.logger.info(
      { store: c.store, durability: c.durability, sessions: this.broker.sessions.size, retained: this.broker.retained.size },
      "broker state recovered",
    );
    const onConnection = (stream: Duplex, info: TransportInfo) => this.broker.handle(stream, info);
    this.listeners.push(await listenTcp({ host: c.host, port: c.mqttPort, onConnection }));
    this.listeners.push(
      await listenWs({ host: c.host, port: c.wsPort, path: c.wsPath, maxPayload: c.maxPacketSize + 5, onConnection }),
    );
    if (c.tlsCertFile && c.tlsKeyFile) {
      const source = new TlsMaterialSource({ certFile: c.tlsCertFile, keyFile: c.tlsKeyFile, caFile: c.tlsCaFile }, this.logger);
      this.tlsSource = source;
      const material = await source.load();
      // Devices may present a certificate issued by their tenant's CA (over TLS or WSS); it is recognised by fingerprint.
      const tls = await listenTls({ host: c.host, port: c.tlsPort, ...material, requestClientCert: true, onConnection });
      this.listeners.push(tls);
      const wss = await listenWs({ host: c.host, port: c.wssPort, path: c.wsPath, tls: material, requestClientCert: true, maxPayload: c.maxPacketSize + 5, onConnection });
      this.listeners.push(wss);
      source.serve(tls, wss);
      source.watch();
    }
    this.ready = true;
    // Bridges connect out on their own schedule; a slow or failing remote does not hold up the start.
    this.bridges.start().catch((err: unknown) => this.logger.error({ err }, "starting bridges failed"));
    for (const l of this.listeners) this.logger.info({ listener: l.name, port: l.port }, "mqtt listener ready");
  }

  /** Graceful shutdown, first step: new MQTT connections are refused; connected clients carry on. */
  stopAccepting(): void {
    this.ready = false;
    for (const l of this.listeners) l.stopAccepting();
  }

  /**
   * Disconnects every client (v5: DISCONNECT 0x8B Server shutting down, or
   * 0x9C Use another server with HALYARD_SHUTDOWN_SERVER_REFERENCE), lets
   * acks that wait for the store go out first, and closes the store, which
   * flushes what is pending. Runs once; later calls wait for the first.
   */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      this.stopAccepting();
      this.sys?.stop();
      this.tlsSource?.close();
      await this.bridges.stop();
      const reference = this.config.shutdownServerReference;
      const reason = reference ? ReasonCode.UseAnotherServer : ReasonCode.ServerShuttingDown;
      const graceMs = Math.max(100, Math.min(5000, Math.floor(this.config.shutdownTimeoutMs / 3)));
      // Clients get their DISCONNECT before the listeners drop remaining sockets.
      await this.broker.close(reason, graceMs, reference);
      await Promise.all(this.listeners.map((l) => l.close()));
    })();
    return this.closing;
  }

  onApplicationShutdown(): Promise<void> {
    return this.shutdown();
  }
}
