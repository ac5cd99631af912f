import path from "node:path";
import { Inject, Injectable, type OnApplicationShutdown } from "@nestjs/common";
import { createPrismaClient, migrate, startEmbeddedPostgres, type EmbeddedPostgres, type PrismaClient } from "@halyard/db";
import type { Logger } from "pino";
import { CONFIG, type HalyardConfig } from "../../config/config.ts";
import { LOGGER } from "../../logger/logger.ts";

/** A Prisma client or an interactive transaction: what repositories take. */
export type Db = Omit<PrismaClient, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

/**
 * The control-plane database: DATABASE_URL when set, otherwise an embedded
 * Postgres (PGlite) in the data directory. Migrations (Prisma's own format)
 * are applied before anything else runs. `ready` is false while migrating and
 * after a failed query that looks like a lost connection, until one succeeds.
 */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  private client: PrismaClient | undefined;
  private embedded: EmbeddedPostgres | undefined;
  migrating = false;

  constructor(
    @Inject(CONFIG) private readonly config: HalyardConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    let url = this.config.databaseUrl;
    if (!url) {
      this.embedded = await startEmbeddedPostgres({ dataDir: path.join(this.config.dataDir, "postgres") });
      url = this.embedded.connectionString;
      this.logger.info({ dataDir: path.join(this.config.dataDir, "postgres") }, "embedded postgres started");
    }
    this.migrating = true;
    try {
      const applied = await migrate(url);
      this.logger.info({ applied }, "database migrations applied");
    } finally {
      this.migrating = false;
    }
    this.client = createPrismaClient(url);
  }

  get db(): PrismaClient {
    if (!this.client) throw new Error("database not started");
    return this.client;
  }

  /** Runs `fn` in one transaction: a change and its audit record commit together or not at all. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.db.$transaction((tx) => fn(tx as unknown as Db));
  }

  /** Readiness probe: a trivial query. */
  async ping(): Promise<boolean> {
    if (!this.client || this.migrating) return false;
    try {
      await this.client.$queryRawUnsafe("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.$disconnect();
    await this.embedded?.close();
  }
}
