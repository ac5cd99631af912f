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
