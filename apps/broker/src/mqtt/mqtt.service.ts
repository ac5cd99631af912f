import { readFileSync } from "node:fs";
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from "@nestjs/common";
import path from "node:path";
import { Broker, ReasonCode } from "@halyard/engine";
import { LmdbStore } from "@halyard/store-lmdb";
import { listenTcp, listenTls, listenWs, type Listener, type TransportInfo } from "@halyard/transport";
import type { Logger } from "pino";
import type { Duplex } from "node:stream";
import { CONFIG, type HalyardConfig } from "../config/config.ts";
import { LOGGER } from "../logger/logger.ts";

/**
 * Owns the engine and its listeners: the only place where the framework-free
 * broker meets sockets and configuration.
 */
@Injectable()
export class MqttService implements OnModuleInit, OnApplicationShutdown {
  readonly broker: Broker;
  private listeners: Listener[] = [];
  private ready = false;

  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // Opened here so a damaged data directory stops the boot with its own message.
    const store =
      config.store === "lmdb"
        ? LmdbStore.open({ dir: path.join(config.dataDir, "broker"), durability: config.durability, maxBytes: config.maxStoreBytes })
        : undefined;
    this.broker = new Broker({
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
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Bound ports by listener name (tcp, ws, tls, wss). */
  get ports(): Record<string, number> {
    return Object.fromEntries(this.listeners.map((l) => [l.name, l.port]));
  }

  async onModuleInit(): Promise<void> {
    const c = this.config;
    await this.broker.open();
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
      const cert = readFileSync(c.tlsCertFile);
      const key = readFileSync(c.tlsKeyFile);
      const ca = c.tlsCaFile ? readFileSync(c.tlsCaFile) : undefined;
      this.listeners.push(await listenTls({ host: c.host, port: c.tlsPort, cert, key, ca, onConnection }));
      this.listeners.push(
        await listenWs({ host: c.host, port: c.wssPort, path: c.wsPath, tls: { cert, key, ca }, maxPayload: c.maxPacketSize + 5, onConnection }),
      );
    }
    this.ready = true;
    for (const l of this.listeners) this.logger.info({ listener: l.name, port: l.port }, "mqtt listener ready");
  }

  async onApplicationShutdown(): Promise<void> {
    this.ready = false;
    // Clients get their DISCONNECT before the listeners drop remaining sockets.
    await this.broker.close(ReasonCode.ServerShuttingDown);
    await Promise.all(this.listeners.map((l) => l.close()));
  }
}
