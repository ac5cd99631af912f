# syntax=docker/dockerfile:1
# Halyard console image (Next.js). Build from the repository root:
#   docker build -f docker/console.Dockerfile -t halyard-console .
#
# `next build` with `output: "standalone"` (apps/console/next.config.ts, on
# when CONSOLE_STANDALONE=1)
# traces the files the server needs; the runtime stage holds only that
# output, the static assets and Node. Runs as the unprivileged `node` user on
# port 3000; configured by the CONSOLE_* variables (apps/console/src/lib/env.ts).

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1

# Only the package manifests and the lockfile, so the install layer stays
# cached until a dependency changes.
FROM base AS manifests
COPY . /src
RUN mkdir /out && cd /src \
 && cp package.json package-lock.json /out/ \
 && find . -name package.json -not -path '*/node_modules/*' -not -path '*/.next/*' -not -path './package.json' \
      -exec cp --parents {} /out/ \;

FROM base AS build
COPY --from=manifests /out/ ./
# Everything the build needs (Next, TypeScript, the workspace packages), as locked.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# CONSOLE_STANDALONE=1 makes next.config.ts ask for the standalone output.
RUN mkdir -p apps/console/public \
 && CONSOLE_STANDALONE=1 npm run build --workspace @halyard/console

FROM base AS runtime
ENV NODE_ENV=production \
    HOSTNAME=0.0.0.0 \
    PORT=3000
# The standalone output mirrors the monorepo: the server is apps/console/server.js.
COPY --from=build --chown=node:node /app/apps/console/.next/standalone ./
COPY --from=build --chown=node:node /app/apps/console/.next/static ./apps/console/.next/static
COPY --from=build --chown=node:node /app/apps/console/public ./apps/console/public
COPY docker/healthcheck.mjs ./docker/healthcheck.mjs
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "http://127.0.0.1:3000/api/health"]
CMD ["node", "apps/console/server.js"]
