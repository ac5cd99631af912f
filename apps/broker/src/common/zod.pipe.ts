import type { PipeTransform } from "@nestjs/common";
import type { z } from "zod";
import { problems } from "./problem.ts";

/** Validates a body or query against the shared contract schema; 400 with every issue on failure. */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.infer<T>> {
  constructor(private readonly schema: T) {}

  transform(value: unknown): z.infer<T> {
    const result = this.schema.safeParse(value ?? {});
    if (result.success) return result.data;
    const errors = result.error.issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message }));
    throw problems.badRequest(`${errors.length} field(s) are invalid.`, errors);
  }
}
