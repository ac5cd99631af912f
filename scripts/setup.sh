#!/usr/bin/env bash
# Installs what the platform and its tests need on a fresh Debian machine.
# Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
