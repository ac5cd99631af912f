import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": path.join(import.meta.dirname, "src"),
      // "server-only" throws outside Next's server bundles; unit tests run the server modules directly.
      "server-only": path.join(import.meta.dirname, "test/server-only-stub.ts"),
    },
  },
  test: { include: ["test/**/*.spec.ts"], environment: "node" },
});
