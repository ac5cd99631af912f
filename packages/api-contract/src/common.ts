import { z } from "zod";

/**
 * Building blocks shared by every resource schema. Inputs are `.strict()`:
 * an unknown field is an error, not something silently dropped, so a typo in
 * an automation script is caught on the first call.
 */

export const uuid = z.uuid();

/** Tenant slug: DNS-label rules, because it becomes `<slug>.<domain>` for SNI routing. */
export const slug = z
  .string()
  .min(2)
  .max(63)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "lowercase letters, digits and inner hyphens (a DNS label)");

export const name = z.string().trim().min(1).max(200);
export const description = z.string().max(1000);

/** MQTT client identifier: any UTF-8 without U+0000, up to 256 characters here. */
export const clientId = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !s.includes("\u0000"), "must not contain U+0000");

export const tag = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:=-]+$/, "letters, digits and _ . : = -");

export const isoDate = z.iso.datetime({ offset: true });

export const pageQuery = z
  .object({
    page: z.coerce.number().int().min(1).default(1),
    pageSize: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export function page<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    page: z.number().int(),
    pageSize: z.number().int(),
    total: z.number().int(),
  });
}

export type Page<T> = { items: T[]; page: number; pageSize: number; total: number };

/** RFC 9457 problem details, the body of every error response. */
export const problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof problem>;

export const tenantRole = z.enum(["tenant_admin", "tenant_operator", "tenant_viewer"]);
export type TenantRole = z.infer<typeof tenantRole>;
