import { SignJWT, jwtVerify } from "jose";

/**
 * Sessions of the local administrator account (the embedded default, when
 * no Keycloak is configured): short-lived HS256 JWTs signed with a key
 * derived from the platform secret.
 */
export const LOCAL_SESSION_ISSUER = "halyard-local";
const AUDIENCE = "halyard-api";
export const LOCAL_SESSION_SECONDS = 8 * 3600;

export class LocalSessions {
  constructor(private readonly key: Uint8Array) {}

  issue(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(LOCAL_SESSION_ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${LOCAL_SESSION_SECONDS}s`)
      .sign(this.key);
  }

  /** Returns the user id, or undefined when the token is not a valid local session. */
  async verify(token: string): Promise<string | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: LOCAL_SESSION_ISSUER, audience: AUDIENCE, algorithms: ["HS256"] });
      return payload.sub;
    } catch {
      return undefined;
    }
  }
}

/** Reads the `iss` claim without verifying, only to choose which verifier to use. */
export function unverifiedIssuer(token: string): string | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as { iss?: unknown };
    return typeof claims.iss === "string" ? claims.iss : undefined;
  } catch {
    return undefined;
  }
}
