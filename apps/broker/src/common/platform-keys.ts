import { hkdfSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * One master secret per installation, from HALYARD_SECRET_KEY or a file
 * created at first start in the data directory (mode 0600). Purpose-specific
 * keys are derived with HKDF, so the key that encrypts CA private keys is not
 * the key that signs local sessions.
 */
export class PlatformKeys {
  private constructor(private readonly master: Buffer) {}

  static load(opts: { secretKey: string | undefined; dataDir: string }): PlatformKeys {
    if (opts.secretKey) {
      const key = Buffer.from(opts.secretKey, /^[0-9a-f]{64}$/i.test(opts.secretKey) ? "hex" : "base64");
      if (key.length < 32) throw new Error("HALYARD_SECRET_KEY must hold at least 32 bytes (64 hex characters or base64)");
      return new PlatformKeys(key);
    }
    const file = path.join(opts.dataDir, "secret.key");
    if (existsSync(file)) return new PlatformKeys(Buffer.from(readFileSync(file, "utf8").trim(), "base64"));
    mkdirSync(opts.dataDir, { recursive: true });
    const key = randomBytes(32);
    writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600 });
    chmodSync(file, 0o600);
    return new PlatformKeys(key);
  }

  derive(purpose: "kek" | "local-session"): Buffer {
    return Buffer.from(hkdfSync("sha256", this.master, Buffer.alloc(0), `halyard:${purpose}`, 32));
  }
}
