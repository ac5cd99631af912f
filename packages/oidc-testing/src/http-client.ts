import { createHash, randomBytes } from "node:crypto";
import type { TokenResponse } from "./types.ts";

export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly errorDescription?: string,
  ) {
    super(`token request failed: HTTP ${status} ${error}${errorDescription ? ` (${errorDescription})` : ""}`);
    this.name = "TokenRequestError";
  }
}

export async function tokenRequest(tokenEndpoint: string, params: URLSearchParams, basicAuth?: { id: string; secret: string }): Promise<TokenResponse> {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (basicAuth) {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded.
    const raw = `${encodeURIComponent(basicAuth.id)}:${encodeURIComponent(basicAuth.secret)}`;
    headers.authorization = `Basic ${Buffer.from(raw).toString("base64")}`;
  }
  const res = await fetch(tokenEndpoint, { method: "POST", headers, body: params });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof json.access_token !== "string") {
    throw new TokenRequestError(res.status, String(json.error ?? "invalid_response"), typeof json.error_description === "string" ? json.error_description : undefined);
  }
  return json as TokenResponse;
}

export function pkcePair(): { verifier: string; challenge: string } {
  // RFC 7636 §4.1: 32 random octets give a 43-character verifier.
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** Just enough of RFC 6265 for one host: path matching, replacement, deletion by expiry. */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  store(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = "/";
      let expired = value === "";
      for (const attr of attrs) {
        const [k = "", v = ""] = attr.split("=").map((s) => s.trim());
        const key = k.toLowerCase();
        if (key === "path" && v) path = v;
        if (key === "max-age" && Number(v) <= 0) expired = true;
        if (key === "expires" && Date.parse(v) <= Date.now()) expired = true;
      }
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
      if (!expired) this.cookies.push({ name, value, path });
    }
  }

  header(url: string): string | undefined {
    const { pathname } = new URL(url);
    const matching = this.cookies.filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith("/") ? c.path : `${c.path}/`));
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
  }
}

/** Fetches like a browser on one origin: keeps cookies and follows redirects until `stop` matches. */
export async function browse(
  jar: CookieJar,
  url: string,
  init: { method?: string; body?: URLSearchParams } = {},
  stop: (location: string) => boolean = () => false,
): Promise<{ url: string; status: number; body: string; stoppedAt?: string }> {
  let current = url;
  let method = init.method ?? "GET";
  let body: URLSearchParams | undefined = init.body;
  for (let hop = 0; hop < 20; hop++) {
    const headers: Record<string, string> = { accept: "text/html" };
    const cookie = jar.header(current);
    if (cookie) headers.cookie = cookie;
    const res = await fetch(current, { method, headers, body, redirect: "manual" });
    jar.store(res.headers);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      const next = new URL(location, current).href;
      if (stop(next)) return { url: current, status: res.status, body: "", stoppedAt: next };
      current = next;
      method = "GET";
      body = undefined;
      continue;
    }
    return { url: current, status: res.status, body: await res.text() };
  }
  throw new Error("too many redirects");
}
