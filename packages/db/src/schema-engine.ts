// Runs Prisma's schema engine (the one behind `prisma migrate`) as WebAssembly,
// connected through @prisma/adapter-pg, because the CLI's native engine binary
// cannot be downloaded on our machines. Every migration-related function in this
// package goes through `withSchemaEngine`.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type IsolationLevel,
  type ErrorRegistry,
  type SqlDriverAdapter,
  type SqlQuery,
  type SqlQueryable,
  type SqlResultSet,
  type Transaction,
} from "@prisma/driver-adapter-utils";
import * as wasmBindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm";

export type { SchemaEngine } from "@prisma/schema-engine-wasm";

export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

export interface SchemaEngineOptions {
  /** Database the engine works on: migrations are applied there, drift is read from there. */
  connectionString: string;
  /** schema.prisma text the engine is started with. */
  schema: string;
  /** Name given to the schema text in engine messages. */
  schemaPath?: string;
  /** Disposable database that operations replaying migrations may wipe; without it they fail. */
  shadowDatabaseUrl?: string;
  /** Receives the engine's log lines (JSON text). */
  log?: (line: string) => void;
}

/** The part of the WebAssembly global used here (lib "dom" is not loaded, and @types/node 20 lacks it). */
interface WebAssemblyApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
  RuntimeError: new (message?: string) => Error;
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

let wasmReady: Promise<void> | undefined;
let lastPanic: string | undefined;

/**
 * wasm-bindgen never clears the engine's timers (lock and statement
 * timeouts), so they are unref'd: a finished command must not hold the
 * process open for ten more seconds.
 */
function engineImports(): Record<string, unknown> {
  const imports: Record<string, unknown> = { ...wasmBindings };
  for (const [name, fn] of Object.entries(imports)) {
    if (!name.startsWith("__wbg_setTimeout_") || typeof fn !== "function") continue;
    imports[name] = (...args: unknown[]) => {
      const timer = (fn as (...a: unknown[]) => unknown)(...args);
      (timer as { unref?: () => void } | undefined)?.unref?.();
      return timer;
    };
  }
  return imports;
}

function loadWasm(): Promise<void> {
  wasmReady ??= (async () => {
    (globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
      set_message: (message: string) => {
        lastPanic = message;
      },
    };
    const require = createRequire(import.meta.url);
    const bindingsPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(bindingsPath.replace(/\.js$/, ".wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": engineImports() });
    const bindings = wasmBindings as unknown as { __wbg_set_wasm(exports: Record<string, unknown>): void };
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
  })();
  return wasmReady;
}

/**
 * A panic inside the engine surfaces as an uncaught "RuntimeError: unreachable"
 * thrown from a microtask, which cannot be caught here. While an engine runs,
 * the panic message is appended to such an error so the crash report says
 * what went wrong.
 */
function explainPanics(err: Error): void {
  if (err instanceof WebAssembly.RuntimeError && lastPanic) {
    err.message += `\nPrisma schema engine panic: ${lastPanic}`;
    lastPanic = undefined;
  }
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

type PgResultShape = { fields?: { dataTypeID: number }[]; rows?: unknown[] };

const charColumnsByRows = new WeakMap<object, number[]>();

function relabelCatalogChar(result: unknown): unknown {
  for (const r of (Array.isArray(result) ? result : [result]) as (PgResultShape | undefined)[]) {
    const charColumns: number[] = [];
    r?.fields?.forEach((field, index) => {
      if (field.dataTypeID !== PG_CHAR_OID) return;
      field.dataTypeID = PG_TEXT_OID;
      charColumns.push(index);
    });
    if (charColumns.length > 0 && r?.rows) charColumnsByRows.set(r.rows, charColumns);
  }
  return result;
}

/**
 * The engine reads pg_catalog columns of Postgres' internal type "char"
 * (relkind, contype, ...) and expects them typed as Character, but
 * @prisma/adapter-pg rejects that type. This client lets them through as text
 * and remembers where they are; `withCharColumns` restores their type.
 */
class CatalogFriendlyClient extends pg.Client {
  override query(...args: unknown[]): any {
    const run = super.query as (...a: unknown[]) => unknown;
    const callbackAt = args.findIndex((a) => typeof a === "function");
    if (callbackAt >= 0) {
      const callback = args[callbackAt] as (err: unknown, res: unknown) => void;
      args[callbackAt] = (err: unknown, res: unknown) => callback(err, err ? res : relabelCatalogChar(res));
      return run.apply(this, args);
    }
    const result = run.apply(this, args);
    return result instanceof Promise ? result.then(relabelCatalogChar) : result;
  }
}

function restoreCharColumns(result: SqlResultSet): SqlResultSet {
  for (const index of charColumnsByRows.get(result.rows) ?? []) result.columnTypes[index] = ColumnTypeEnum.Character;
  return result;
}

function withCharColumns<T extends SqlQueryable>(queryable: T): T {
  return Object.assign(Object.create(queryable) as T, {
    queryRaw: async (query: SqlQuery) => restoreCharColumns(await queryable.queryRaw(query)),
  });
}

async function engineAdapter(connectionString: string, pools: pg.Pool[]): Promise<SqlDriverAdapter> {
  const pool = new pg.Pool({ connectionString, Client: CatalogFriendlyClient, max: 4 });
  pools.push(pool);
  const adapter = await new PrismaPg(pool).connect();
  return Object.assign(withCharColumns(adapter), {
    startTransaction: async (isolationLevel?: IsolationLevel): Promise<Transaction> =>
      withCharColumns(await adapter.startTransaction(isolationLevel)),
  });
}

/** The engine reports adapter failures as "External error id#N"; this puts the real error back. */
function withAdapterError(err: unknown, registry: ErrorRegistry): unknown {
  const id = err instanceof Error ? /External error id#(\d+)/.exec(err.message)?.[1] : undefined;
  const record = id === undefined ? undefined : registry.consumeError(Number(id));
  if (!record) return err;
  const cause = record.error;
  const message = cause instanceof Error ? cause.message : JSON.stringify(cause);
  return new Error(`schema engine: ${message}`, { cause });
}

/** Starts an engine for `options`, runs `work` with it, then releases the engine and its connections. */
export async function withSchemaEngine<T>(
  options: SchemaEngineOptions,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  await loadWasm();
  const pools: pg.Pool[] = [];
  const factory = bindMigrationAwareSqlAdapterFactory({
    provider: "postgres",
    adapterName: "@prisma/adapter-pg",
    connect: () => engineAdapter(options.connectionString, pools),
    connectToShadowDb: async () => {
      if (!options.shadowDatabaseUrl) throw new Error("this operation needs a shadow database, and none was configured");
      return engineAdapter(options.shadowDatabaseUrl, pools);
    },
  });
  const log = options.log ?? (() => {});
  process.on("uncaughtExceptionMonitor", explainPanics);
  try {
    const engine = await wasmBindings.SchemaEngine.new(
      { datamodels: [[options.schemaPath ?? "schema.prisma", options.schema]] },
      (line: string) => log(line),
      factory,
    );
    try {
      return await work(engine);
    } finally {
      engine.free();
    }
  } catch (err) {
    throw withAdapterError(err, factory.errorRegistry);
  } finally {
    process.off("uncaughtExceptionMonitor", explainPanics);
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}
