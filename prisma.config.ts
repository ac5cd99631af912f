// Prisma CLI configuration (Prisma 7 reads the database URL from here, not
// from schema.prisma). Used by the stock CLI, e.g. `prisma migrate deploy` in
// Docker images; the application itself migrates through @halyard/db.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL },
});
