import { MemorySessionStore, type SessionStore } from "@halyard/engine";
import type { Durability, LmdbStore } from "../src/index.ts";
import { sessionStoreContract, type SessionStoreFixture } from "./session-store.contract.ts";
import { openLmdb, removeDir, tempDir } from "./util.ts";

sessionStoreContract("MemorySessionStore", () => {
  const store = new MemorySessionStore();
  return { store, reopen: async () => store };
});

function lmdbFixture(durability: Durability): SessionStoreFixture {
  const dir = tempDir();
  let current: LmdbStore = openLmdb(dir, durability);
  return {
    store: current.sessions,
    async reopen(): Promise<SessionStore> {
      await current.close();
      current = openLmdb(dir, durability);
      return current.sessions;
    },
    async dispose() {
      await current.close();
      removeDir(dir);
    },
  };
}

sessionStoreContract("LmdbSessionStore (fsync)", () => lmdbFixture("fsync"));
sessionStoreContract("LmdbSessionStore (durability none)", () => lmdbFixture("none"));
