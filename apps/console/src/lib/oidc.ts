import "server-only";
import * as client from "openid-client";
import { env } from "./env.ts";

/**
 * OIDC Authorization Code + PKCE against Keycloak (or any OpenID provider),
 * through openid-client. Discovery happens once per process and is retried on
 * the next sign-in when the provider was down.
 */
let configuration: Promise<client.Configuration> | undefined;

export function oidcEnabled(): boolean {
  return env().CONSOLE_OIDC_ISSUER !== undefined;
}

export function oidcConfig(): Promise<client.Configuration> {
  const e = env();
  if (!e.CONSOLE_OIDC_ISSUER) throw new Error("CONSOLE_OIDC_ISSUER is not set");
  const issuer = new URL(e.CONSOLE_OIDC_ISSUER);
  configuration ??= client
    .discovery(
      issuer,
      e.CONSOLE_OIDC_CLIENT_ID,
      e.CONSOLE_OIDC_CLIENT_SECRET,
      e.CONSOLE_OIDC_CLIENT_SECRET ? client.ClientSecretBasic(e.CONSOLE_OIDC_CLIENT_SECRET) : client.None(),
      // A plain-http issuer is only acceptable on a development network; openid-client refuses it otherwise.
      issuer.protocol === "http:" ? { execute: [client.allowInsecureRequests] } : undefined,
    )
    .catch((err: unknown) => {
      configuration = undefined;
      throw err;
    });
  return configuration;
}

export function callbackUrl(): string {
  return new URL("/api/auth/callback", env().CONSOLE_PUBLIC_URL).toString();
}

export { client };
