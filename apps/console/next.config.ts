import path from "node:path";
import type { NextConfig } from "next";

const config: NextConfig = {
  // Self-contained server for the Docker image (its build sets CONSOLE_STANDALONE=1); `next start` otherwise.
  output: process.env.CONSOLE_STANDALONE === "1" ? "standalone" : undefined,
  // The monorepo root, so standalone tracing includes workspace packages.
  outputFileTracingRoot: path.join(import.meta.dirname, "../.."),
  // Tests build into their own folder so a developer's `next dev`/`next build` never clobbers theirs.
  distDir: process.env.CONSOLE_DIST_DIR ?? ".next",
  transpilePackages: ["@halyard/api-contract"],
  poweredByHeader: false,
  reactStrictMode: true,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default config;
