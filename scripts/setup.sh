#!/usr/bin/env bash
# Installs what the platform and its tests need on a fresh Debian machine.
# Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

# The black-box tests use mosquitto_pub/mosquitto_sub as an independent client;
# the benchmark compares against the mosquitto broker.
if ! command -v mosquitto_pub >/dev/null || ! command -v mosquitto >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
  else
    echo "setup: mosquitto and mosquitto-clients are needed (apt-get install mosquitto mosquitto-clients)" >&2
  fi
fi

# The checks of the self-hosting files (e2e/compose) load the sample LDIF into
# a real OpenLDAP (slapd, ldapsearch) and ask Compose to parse the compose
# file; without the `docker compose` plugin, Debian's docker-compose does that.
missing=()
command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || missing+=(slapd)
command -v ldapsearch >/dev/null || missing+=(ldap-utils)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then missing+=(docker-compose); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: ${missing[*]} are needed (apt-get install ${missing[*]})" >&2
  fi
fi

# The console's browser tests (e2e/console, Playwright) drive Debian's Chromium:
# Playwright's own browser download does not work on these machines.
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium is needed for the console tests (apt-get install chromium, or set CHROMIUM_PATH)" >&2
  fi
fi

# The Prisma client (packages/db/src/generated, git-ignored) is generated from
# prisma/schema.prisma: regenerate it when missing or older than the schema.
prisma_client=packages/db/src/generated/prisma/client.ts
if [ ! -f "$prisma_client" ] || [ prisma/schema.prisma -nt "$prisma_client" ]; then
  if ! generate_log=$(npm run db:generate -w @halyard/db --silent 2>&1); then
    echo "$generate_log" >&2
    echo "setup: generating the Prisma client failed" >&2
    exit 1
  fi
  echo "setup: generated the Prisma client"
fi
