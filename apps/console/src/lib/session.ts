import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { EncryptJWT, jwtDecrypt } from "jose";
import { env, secureCookies } from "./env.ts";

/**
 * The console session lives in an encrypted (A256GCM), http-only, SameSite=Lax
 * cookie: no server-side session store, so any console replica can serve any
 * request. Keycloak's tokens together exceed one cookie's 4 KiB, so the
 * encrypted value is split over numbered chunks.
 */
export interface Session {
  kind: "oidc" | "local";
  accessToken: string;
  /** Epoch seconds. */
  expiresAt: number;
  refreshToken?: string;
  idToken?: string;
  name: string;
}

export const SESSION_COOKIE = "halyard_session";
const CHUNK = 3800;
const MAX_CHUNKS = 4;
/** Upper bound of a console session regardless of token refreshes. */
export const SESSION_MAX_AGE = 12 * 3600;

let cachedKey: Uint8Array | undefined;

/**
 * CONSOLE_SESSION_SECRET, or a key generated once into CONSOLE_DATA_DIR. A file
 * rather than memory because Next runs the proxy and the pages as separate
 * bundles that share no module state, and so sessions survive restarts.
 */
function key(): Uint8Array {
  if (cachedKey) return cachedKey;
  const e = env();
  if (e.CONSOLE_SESSION_SECRET) return (cachedKey = createHash("sha256").update(e.CONSOLE_SESSION_SECRET).digest());
  const file = path.resolve(e.CONSOLE_DATA_DIR, "session.key");
  try {
    cachedKey = Buffer.from(readFileSync(file, "utf8").trim(), "hex");
  } catch {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fresh = randomBytes(32).toString("hex");
    try {
      writeFileSync(file, fresh + "\n", { mode: 0o600, flag: "wx" });
    } catch {
      /* another bundle or replica won the race: use its key */
    }
    cachedKey = Buffer.from(readFileSync(file, "utf8").trim(), "hex");
  }
  return cachedKey;
}

export async function seal(payload: object, maxAgeSeconds: number): Promise<string> {
  return new EncryptJWT({ ...payload })
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setIssuedAt()
    .setExpirationTime(`${maxAgeSeconds}s`)
    .encrypt(key());
}

export async function unseal<T>(value: string | undefined): Promise<T | undefined> {
  if (!value) return undefined;
  try {
    const { payload } = await jwtDecrypt(value, key());
    return payload as T;
  } catch {
    return undefined;
  }
}

export interface CookieSpec {
  name: string;
  value: string;
  options: { httpOnly: true; secure: boolean; sameSite: "lax"; path: string; maxAge: number };
}

function options(maxAge: number): CookieSpec["options"] {
  return { httpOnly: true, secure: secureCookies(), sameSite: "lax", path: "/", maxAge };
}

/** The cookies that store `session` (chunks), plus deletions of chunks it no longer needs. */
export async function sessionCookies(session: Session): Promise<CookieSpec[]> {
  const sealed = await seal(session, SESSION_MAX_AGE);
  const parts = Math.ceil(sealed.length / CHUNK);
  if (parts > MAX_CHUNKS) throw new Error("session too large for cookies");
  const out: CookieSpec[] = [];
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const value = sealed.slice(i * CHUNK, (i + 1) * CHUNK);
    out.push({ name: `${SESSION_COOKIE}.${i}`, value, options: options(value ? SESSION_MAX_AGE : 0) });
  }
  return out;
}

export function clearSessionCookies(): CookieSpec[] {
  return Array.from({ length: MAX_CHUNKS }, (_, i) => ({ name: `${SESSION_COOKIE}.${i}`, value: "", options: options(0) }));
}

export interface CookieReader {
  get(name: string): { value: string } | undefined;
}

export async function readSession(cookies: CookieReader): Promise<Session | undefined> {
  let sealed = "";
  for (let i = 0; i < MAX_CHUNKS; i++) sealed += cookies.get(`${SESSION_COOKIE}.${i}`)?.value ?? "";
  return unseal<Session>(sealed);
}
