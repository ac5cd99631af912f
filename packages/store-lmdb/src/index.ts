export { LmdbStore, LmdbSessionStore, LmdbRetainedStore, StoreOpenError, type LmdbStoreOptions } from "./lmdb-store.ts";
export { Batches, type Durability } from "./batches.ts";
