/**
 * Which tenant a connecting client belongs to, in this documented order
 * (first that applies wins):
 *   1. a client certificate issued by a tenant's CA (mTLS);
 *   2. the TLS SNI host name `<tenant>.<domain>`;
 *   3. a username of the form `<username>@<tenant>` (separator configurable);
 *   4. the `tenant` claim of a JWT presented as the password.
 * A client that names two different tenants (say SNI `a.` and username `@b`)
 * is refused rather than guessed about.
 */

export interface TenantHint {
  slug: string;
  source: "certificate" | "sni" | "username" | "token";
}

/** Tenant slugs are DNS labels (see the API's `slug`); anything else names no tenant. */
export function isTenantSlug(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(s);
}

export function tenantFromSni(servername: string | undefined, domain: string | undefined): string | undefined {
  if (!servername || !domain) return undefined;
  const suffix = "." + domain.toLowerCase();
  const host = servername.toLowerCase();
  if (!host.endsWith(suffix)) return undefined;
  const label = host.slice(0, -suffix.length);
  return isTenantSlug(label) ? label : undefined;
}

/** Splits `user@tenant` at the LAST separator (usernames may not contain it; see the credentials API). */
export function splitUsername(username: string | undefined, separator: string): { username: string; slug: string } | undefined {
  if (!username) return undefined;
  const at = username.lastIndexOf(separator);
  if (at <= 0 || at === username.length - separator.length) return undefined;
  return { username: username.slice(0, at), slug: username.slice(at + separator.length) };
}

/** A password that looks like a JWT (three base64url parts). */
export function looksLikeJwt(password: Buffer | undefined): string | undefined {
  if (!password || password.length > 8192) return undefined;
  const s = password.toString("utf8");
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(s) ? s : undefined;
}
