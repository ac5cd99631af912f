import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["mqtt/**/*.spec.ts", "compose/**/*.spec.ts", "../scripts/demo/**/*.spec.ts"],
    testTimeout: 30_000,
    hookTimeout: 40_000,
    fileParallelism: false,
  },
});
