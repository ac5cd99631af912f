// Embedded PostgreSQL for single-node installs and tests: PGlite (Postgres
// compiled to WebAssembly) keeps its data in a folder and PGLiteSocketServer
// serves it over the wire protocol, so pg, Prisma and the schema engine use it
// like any server.
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  /** postgresql:// URL of the socket server (127.0.0.1, free port). */
  connectionString: string;
  /** Stops the socket server and closes the database; safe to call twice. */
  close(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder that holds the database; created when missing. */
  dataDir: string;
  /** Concurrent client connections accepted (default 32). */
  maxConnections?: number;
  /** TCP port on 127.0.0.1 (default: any free port); a fixed one lets a test stop and start the server under the same URL. */
  port?: number;
}

export class EmbeddedPostgresError extends Error {
  override name = "EmbeddedPostgresError";
}

function prepareDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  let stats;
  try {
    stats = statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new EmbeddedPostgresError(`embedded database folder ${dir} cannot be read: ${(err as Error).message}`);
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (mkdirErr) {
      throw new EmbeddedPostgresError(
        `embedded database folder ${dir} cannot be created: ${(mkdirErr as Error).message}`,
      );
    }
    return dir;
  }
  if (!stats.isDirectory()) {
    throw new EmbeddedPostgresError(`embedded database folder ${dir} exists and is not a directory`);
  }
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    throw new EmbeddedPostgresError(`embedded database folder ${dir} is not readable and writable by this process`);
  }
  const entries = readdirSync(dir).filter((name) => name !== LOCK_FILE);
  if (entries.length > 0 && !entries.includes("PG_VERSION")) {
    throw new EmbeddedPostgresError(
      `embedded database folder ${dir} is not empty and holds no database (no PG_VERSION); use an empty folder`,
    );
  }
  return dir;
}

const LOCK_FILE = "halyard-embedded.pid";

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** PGlite does not lock its folder; two writers would corrupt it, so a pid file does. */
function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new EmbeddedPostgresError(`embedded database folder ${dir} cannot be locked: ${(err as Error).message}`);
      }
    }
    const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (Number.isInteger(owner) && processIsAlive(owner)) {
      const who = owner === process.pid ? "this process" : `process ${owner}`;
      throw new EmbeddedPostgresError(`embedded database in ${dir} is already open by ${who}`);
    }
    rmSync(path, { force: true });
  }
  throw new EmbeddedPostgresError(`embedded database folder ${dir} cannot be locked`);
}

/** Serves an open PGlite on 127.0.0.1; `close` stops serving, closes the database, then runs `release`. */
async function serveOverSocket(db: PGlite, maxConnections: number, release = () => {}, listenPort = 0): Promise<EmbeddedPostgres> {
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: listenPort, maxConnections });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    release();
    throw err;
  }
  const [host, port] = server.getServerConn().split(":");
  let closing: Promise<void> | undefined;
  return {
    connectionString: `postgresql://postgres@${host}:${port}/postgres?sslmode=disable`,
    close: () => {
      closing ??= (async () => {
        try {
          await server.stop();
          await db.close();
        } finally {
          release();
        }
      })();
      return closing;
    },
  };
}

/** Opens (or creates) the PGlite database in `dataDir` and serves it over TCP. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dir = prepareDataDir(options.dataDir);
  const unlock = lockDataDir(dir);
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (err) {
    unlock();
    throw new EmbeddedPostgresError(
      `embedded database in ${dir} cannot be opened (was it written by another PGlite version?): ${(err as Error).message}`,
    );
  }
  return serveOverSocket(db, options.maxConnections ?? 32, unlock, options.port ?? 0);
}

/** A throw-away in-memory database, used as the schema engine's shadow database. */
export async function startInMemoryPostgres(): Promise<EmbeddedPostgres> {
  return serveOverSocket(await PGlite.create(), 8);
}
