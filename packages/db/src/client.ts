// The application's database client: the generated Prisma client over
// node-postgres (@prisma/adapter-pg), so no Prisma engine binary is needed.
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";

export interface PrismaClientOptions {
  /** Most connections the pool opens (pg's default is 10). */
  maxConnections?: number;
}

export function createPrismaClient(connectionString: string, options: PrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString, ...(options.maxConnections ? { max: options.maxConnections } : {}) });
  return new PrismaClient({ adapter });
}
