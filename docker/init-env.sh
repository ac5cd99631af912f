#!/bin/sh
# Creates the deployment's .env from .env.example with a fresh random secret
# in place of every `change-me` value, readable by the current user only.
# Never overwrites: delete .env first to start over (the realm, databases and
# directory keep the old secrets in their volumes; see docker/README.md).
#
#   sh docker/init-env.sh            # writes <repository>/.env
#   ENV_FILE=/path/.env sh docker/init-env.sh
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
example=${ENV_EXAMPLE:-$root/.env.example}
out=${ENV_FILE:-$root/.env}

if [ -e "$out" ]; then
  echo "init-env: $out already exists; remove it first to start over" >&2
  exit 1
fi

# 24 random bytes as 48 hex characters: URL-safe, and long enough for every secret.
secret() {
  od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

umask 077
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    [A-Z]*=change-me*) printf '%s=%s\n' "${line%%=*}" "$(secret)" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$example" > "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "init-env: wrote $out"
