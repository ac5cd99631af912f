import { z } from "zod";

/**
 * Console configuration, read from the environment once per process.
 * The console is a backend-for-frontend: the browser only ever talks to it,
 * and it calls the broker's admin API server-side with the signed-in user's token.
 */
const schema = z.object({
  /** Base URL of the broker's admin API as the console server reaches it. */
  CONSOLE_API_URL: z.url().default("http://127.0.0.1:8080"),
  /** Public URL of the console (OIDC redirect URIs are built from it). */
  CONSOLE_PUBLIC_URL: z.url().default("http://localhost:3000"),
  /** Keycloak realm issuer, e.g. https://sso.example.com/realms/halyard; unset = local administrator sign-in only. */
  CONSOLE_OIDC_ISSUER: z.url().optional(),
  CONSOLE_OIDC_CLIENT_ID: z.string().min(1).default("halyard-console"),
  /** Unset = public client (PKCE only). */
  CONSOLE_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /** Key for the encrypted session cookie (32+ characters); unset = a key generated once into CONSOLE_DATA_DIR. */
  CONSOLE_SESSION_SECRET: z.string().min(32, "use at least 32 characters").optional(),
  /** Where the console keeps its generated session key. */
  CONSOLE_DATA_DIR: z.string().min(1).default(".halyard-console"),
  /** Host name devices use to reach the broker, shown in connection snippets. */
  CONSOLE_MQTT_HOST: z.string().min(1).default("localhost"),
  CONSOLE_MQTT_PORT: z.coerce.number().int().min(1).max(65535).default(1883),
  CONSOLE_MQTTS_PORT: z.coerce.number().int().min(1).max(65535).default(8883),
  /** Mark cookies Secure; defaults to true when CONSOLE_PUBLIC_URL is https. */
  CONSOLE_SECURE_COOKIES: z.enum(["true", "false"]).optional(),
});

export type ConsoleEnv = z.infer<typeof schema>;

/** Every environment variable the console reads (the compose consistency check imports this). */
export const consoleEnvNames: readonly string[] = Object.keys(schema.shape);

let cached: ConsoleEnv | undefined;

export function env(): ConsoleEnv {
  if (!cached) {
    const parsed = schema.safeParse(process.env);
    if (!parsed.success) {
      const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`).join("\n");
      throw new Error(`invalid console configuration:\n${lines}`);
    }
    cached = parsed.data;
  }
  return cached;
}

export function secureCookies(): boolean {
  const e = env();
  if (e.CONSOLE_SECURE_COOKIES) return e.CONSOLE_SECURE_COOKIES === "true";
  return e.CONSOLE_PUBLIC_URL.startsWith("https:");
}
