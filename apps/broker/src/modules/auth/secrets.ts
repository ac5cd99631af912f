import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";

/**
 * Hashing of the secrets the control plane hands out.
 *
 * Passwords (people and devices) use argon2id with OWASP's parameters
 * (19 MiB, 2 passes): chosen by humans, they need a slow, memory-hard hash.
 * API keys are 32 random bytes, so a single SHA-256 is enough and keeps
 * per-request verification cheap; they are found by their public prefix.
 */

const ARGON2ID = 2;

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (passwordHash.startsWith(FAST_PREFIX)) return verifyGeneratedSecret(passwordHash, password);
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/**
 * Generated device passwords carry 192 random bits: no dictionary or
 * brute-force attack applies, so a salted SHA-256 protects them as well as a
 * slow hash would, and a reconnect storm of thousands of devices does not
 * spend tens of seconds of CPU in argon2. Passwords a person chose still get
 * argon2id (hashPassword).
 */
const FAST_PREFIX = "sha256$";

export function hashGeneratedSecret(secret: string): string {
  const salt = randomBytes(16).toString("hex");
  return `${FAST_PREFIX}${salt}$${createHash("sha256").update(salt).update(secret).digest("hex")}`;
}

function verifyGeneratedSecret(stored: string, secret: string): boolean {
  const [, salt, hex] = stored.split("$");
  if (!salt || !hex) return false;
  const a = createHash("sha256").update(salt).update(secret).digest();
  const b = Buffer.from(hex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A password for a device: 24 random bytes, URL-safe, 32 characters. */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

export interface NewApiKey {
  key: string;
  prefix: string;
  keyHash: string;
}

/** `hyd_<prefix>_<secret>`; the prefix is stored in clear to find the row, the whole key only as a hash. */
export function generateApiKey(): NewApiKey {
  const prefix = randomBytes(6).toString("hex");
  const key = `hyd_${prefix}_${randomBytes(32).toString("base64url")}`;
  return { key, prefix, keyHash: sha256(key) };
}

export function parseApiKey(key: string): { prefix: string } | undefined {
  const m = /^hyd_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(key);
  return m ? { prefix: m[1] as string } : undefined;
}

export function apiKeyMatches(key: string, keyHash: string): boolean {
  const a = Buffer.from(sha256(key), "hex");
  const b = Buffer.from(keyHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
