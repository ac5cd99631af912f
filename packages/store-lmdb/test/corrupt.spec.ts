import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { open } from "lmdb";
import { afterEach, describe, expect, it } from "vitest";
import { StoreOpenError } from "../src/index.ts";
import { openLmdb, removeDir, storedMessage, tempDir } from "./util.ts";

/**
 * A data directory that is not a readable store must stop the broker with an
 * error that names the file and says what to do; it must never start empty
 * (which would silently drop every stored session and retained message) and
 * never crash the process.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const isRoot = process.getuid?.() === 0;

const dirs: string[] = [];
function dataDir(): string {
  const dir = tempDir("halyard-corrupt-");
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) {
    try {
      chmodSync(path.join(dir, "state.mdb"), 0o644);
    } catch {
      // not there or not a file
    }
    removeDir(dir);
  }
});

/** As `openError`, in a child process running as user nobody (uid 65534); returns the error message. */
function openErrorAsNobody(dir: string): Promise<string> {
  chmodSync(dir, 0o755);
  const script = `
    import { LmdbStore } from "./packages/store-lmdb/src/index.ts";
    try {
      const store = LmdbStore.open({ dir: ${JSON.stringify(dir)}, durability: "fsync", maxBytes: 64 * 1024 * 1024 });
      await store.sessions.load();
      console.log(JSON.stringify({ opened: true }));
    } catch (err) {
      console.log(JSON.stringify({ name: err.constructor.name, message: err.message }));
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot, uid: 65534, gid: 65534 });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", () => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        const result = JSON.parse(line) as { name?: string; message?: string; opened?: boolean };
        if (result.name !== "StoreOpenError") reject(new Error(`expected StoreOpenError, got ${line}`));
        else resolve(result.message ?? "");
      } catch {
        reject(new Error(`child failed: ${out}`));
      }
    });
  });
}

/** Runs LmdbStore.open and the first loads; returns the error they throw. */
async function openError(dir: string): Promise<unknown> {
  try {
    const store = openLmdb(dir);
    try {
      await store.sessions.load();
      await store.retained.load();
    } finally {
      await store.close();
    }
  } catch (err) {
    return err;
  }
  return undefined;
}

/** The error is a StoreOpenError naming `file` and telling the operator what to do. */
function expectActionable(err: unknown, file: string): StoreOpenError {
  expect(err).toBeInstanceOf(StoreOpenError);
  const message = (err as Error).message;
  expect(message).toContain(file);
  expect(message).toMatch(/restore a backup/);
  expect(message).toMatch(/move the data directory aside/);
  return err as StoreOpenError;
}

/** A valid store file with a session and a retained message in it. */
async function validStore(dir: string): Promise<Buffer> {
  const store = openLmdb(dir);
  await store.sessions.load();
  store.sessions.saveSession("s", { expiryInterval: 60, expiresAt: undefined });
  store.retained.set("r", { ...storedMessage({ topic: "r" }) });
  await store.close();
  return readFileSync(path.join(dir, "state.mdb"));
}

describe("corrupt or unusable data directory", () => {
  it.each([
    ["random bytes (64 KiB)", () => randomBytes(64 * 1024)],
    ["random bytes (100 bytes)", () => randomBytes(100)],
    ["zeros (16 KiB)", () => Buffer.alloc(16 * 1024)],
    ["text", () => Buffer.from("this is not a database\n".repeat(500))],
  ])("state.mdb holding %s: StoreOpenError naming the file, file left as it was", async (_name, bytes) => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    const garbage = bytes();
    writeFileSync(file, garbage);
    const err = await openError(dir);
    expectActionable(err, file);
    expect((err as Error).message).toMatch(/not an LMDB file/);
    // Nothing was "repaired" or initialized over it.
    expect(readFileSync(file).equals(garbage)).toBe(true);
  });

  it("a truncated store file (first page only, first 100 bytes)", async () => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    const good = await validStore(dir);
    for (const length of [4096, 100, 60]) {
      writeFileSync(file, good.subarray(0, length));
      const err = await openError(dir);
      expectActionable(err, file);
      expect(readFileSync(file).length).toBe(length);
    }
  });

  it("a store file of another LMDB data version", async () => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    const bytes = Buffer.from(await validStore(dir));
    bytes.writeUInt32LE(1, 28); // mm_version of the first meta page
    writeFileSync(file, bytes);
    const err = await openError(dir);
    expectActionable(err, file);
    expect((err as Error).message).toMatch(/LMDB data version 1/);
  });

  it("a store of another Halyard format", async () => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    await validStore(dir);
    const root = open({ path: file, noSubdir: true, maxDbs: 12, compression: false });
    root.openDB({ name: "meta", encoding: "msgpack" }).putSync("format", 99);
    await root.close();
    const err = await openError(dir);
    expectActionable(err, file);
    expect((err as Error).message).toMatch(/format 99/);
  });

  it.each(["sessions", "subscriptions", "deliveries", "wills", "retained"])(
    "an undecodable %s record makes the first load throw, naming the file and the table",
    async (table) => {
      const dir = dataDir();
      const file = path.join(dir, "state.mdb");
      await validStore(dir);
      const root = open({ path: file, noSubdir: true, maxDbs: 12, compression: false });
      // 0xc1 is never used in MessagePack.
      const key = table === "sessions" || table === "wills" || table === "retained" ? "k" : "00000001/k";
      root.openDB({ name: table, encoding: "binary" }).putSync(key, Buffer.from([0xc1, 0xc1, 0xc1]));
      await root.close();
      const err = await openError(dir);
      expectActionable(err, file);
      expect((err as Error).message).toContain(`(${table})`);
    },
  );

  it("state.mdb is a directory", async () => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    mkdirSync(file);
    const err = await openError(dir);
    expectActionable(err, file);
    expect(statSync(file).isDirectory()).toBe(true);
  });

  it("state.mdb is a symlink loop (unreadable, also for root)", async () => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    symlinkSync("state.mdb", file);
    const err = await openError(dir);
    expectActionable(err, file);
  });

  it("state.mdb without read/write permission", async () => {
    const dir = dataDir();
    const file = path.join(dir, "state.mdb");
    await validStore(dir);
    chmodSync(file, 0o000);
    // Root ignores file modes, so as root the open runs in a child process as "nobody".
    const message = isRoot ? await openErrorAsNobody(dir) : ((await openError(dir)) as Error).message;
    expect(message).toContain(file);
    expect(message).toMatch(/EACCES|permission/i);
    expect(message).toMatch(/restore a backup|move the data directory/);
  });

  it("the data directory is a regular file", async () => {
    const parent = dataDir();
    const dir = path.join(parent, "not-a-dir");
    writeFileSync(dir, "x");
    const err = await openError(dir);
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as Error).message).toContain(dir);
  });

  it("a sound store still opens with its contents (control)", async () => {
    const dir = dataDir();
    await validStore(dir);
    const store = openLmdb(dir);
    const state = await store.sessions.load();
    await store.retained.load();
    expect([...state.sessions.keys()]).toEqual(["s"]);
    expect(store.retained.get("r")?.topic).toBe("r");
    await store.close();
  });

  it("the broker process exits non-zero and names the file when broker/state.mdb is corrupt", async () => {
    const dir = dataDir();
    mkdirSync(path.join(dir, "broker"));
    const file = path.join(dir, "broker", "state.mdb");
    const garbage = randomBytes(32 * 1024);
    writeFileSync(file, garbage);
    const child = spawn(process.execPath, ["--import", "tsx", "apps/broker/src/main.ts"], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HALYARD_DATA_DIR: dir,
        HALYARD_HOST: "127.0.0.1",
        HALYARD_MQTT_PORT: "0",
        HALYARD_WS_PORT: "0",
        HALYARD_HTTP_PORT: "0",
        HALYARD_LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    // An exit, not a crash or a hang: no signal, a non-zero code.
    expect(exit.signal, output).toBe(null);
    expect(exit.code, output).not.toBe(0);
    expect(output).toContain(file);
    expect(output).toMatch(/restore a backup/);
    expect(output).not.toMatch(/halyard broker started/);
    expect(readFileSync(file).equals(garbage)).toBe(true);
  }, 30_000);
});
