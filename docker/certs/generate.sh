#!/bin/sh
# One-shot TLS setup for the compose deployment (the `certs` service).
#
# On first start it creates a private CA and a server certificate signed by
# it; on later starts it keeps both, and renews only the server certificate
# when it expires within 30 days or when CERT_HOSTS changed (the broker and
# Keycloak pick up the new files without a restart). Devices and browsers
# trust ca.crt, never the server key.
#
# Environment:
#   CERTS_DIR    where the files live (default /certs)
#   CERT_HOSTS   comma-separated DNS names and IP addresses the server
#                certificate is valid for; the first one is its common name
#   CERT_DAYS    server certificate lifetime in days (default 397)
#   CERT_OWNER   uid:gid that must read server.key (the broker and Keycloak
#                run as uid 1000); ignored when not running as root
#
# Files: ca.crt, ca.key (0600, root only), server.crt, server.key,
# server.fullchain.crt (server then CA, for clients that want the chain).
# server.hosts marks a server certificate as issued here: one put into the
# volume by hand (e.g. from a public CA) has none and is never replaced.
set -eu

dir=${CERTS_DIR:-/certs}
hosts=${CERT_HOSTS:?CERT_HOSTS must list the server names, e.g. mqtt.example.com,localhost,127.0.0.1}
days=${CERT_DAYS:-397}
owner=${CERT_OWNER:-}

mkdir -p "$dir"
cd "$dir"
umask 077

# subjectAltName from the host list: addresses as IP:, everything else as DNS:.
san=""
cn=""
old_ifs=$IFS
IFS=,
for h in $hosts; do
  h=$(printf '%s' "$h" | tr -d ' ')
  [ -n "$h" ] || continue
  [ -n "$cn" ] || cn=$h
  case $h in
    *[!0-9.]*) case $h in *:*) entry="IP:$h" ;; *) entry="DNS:$h" ;; esac ;;
    *) entry="IP:$h" ;;
  esac
  san="${san:+$san,}$entry"
done
IFS=$old_ifs
[ -n "$san" ] || { echo "certs: CERT_HOSTS names no host" >&2; exit 1; }

managed=yes
if [ -s server.crt ] && [ -s server.key ] && [ ! -e server.hosts ]; then managed=""; fi

if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
  echo "certs: creating the Halyard CA"
  openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days 3650 \
    -keyout ca.key.tmp -out ca.crt.tmp -subj "/O=Halyard/CN=Halyard local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  mv ca.key.tmp ca.key
  mv ca.crt.tmp ca.crt
  chmod 0644 ca.crt
  # A server certificate issued here by a previous CA is worthless now.
  if [ -n "$managed" ]; then rm -f server.crt server.key server.hosts; fi
fi

if [ -z "$managed" ]; then
  echo "certs: keeping server.crt, which was not issued here"
  if ! openssl x509 -in server.crt -noout -checkend $((30 * 86400)) >/dev/null; then
    echo "certs: WARNING: server.crt expires within 30 days; replace it" >&2
  fi
  openssl x509 -in server.crt -noout -subject -enddate
  exit 0
fi

renew=""
if [ ! -s server.crt ] || [ ! -s server.key ]; then
  renew="no server certificate yet"
elif ! openssl x509 -in server.crt -noout -checkend $((30 * 86400)) >/dev/null; then
  renew="the server certificate expires within 30 days"
elif [ "$(cat server.hosts 2>/dev/null || true)" != "$san" ]; then
  renew="CERT_HOSTS changed"
elif ! openssl verify -CAfile ca.crt server.crt >/dev/null 2>&1; then
  renew="the server certificate is not signed by ca.crt"
fi

if [ -n "$renew" ]; then
  echo "certs: issuing the server certificate for $san ($renew)"
  cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$san
EXT
  openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout server.key.tmp -out server.csr -subj "/O=Halyard/CN=$cn" 2>/dev/null
  openssl x509 -req -sha256 -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -extfile server.ext -out server.crt.tmp 2>/dev/null
  cat server.crt.tmp ca.crt > server.fullchain.crt.tmp
  if [ -n "$owner" ] && [ "$(id -u)" = 0 ]; then chown "$owner" server.key.tmp; fi
  chmod 0400 server.key.tmp
  chmod 0644 server.crt.tmp server.fullchain.crt.tmp
  # Key first, then certificate: a watcher that sees the new certificate also finds its key.
  mv -f server.key.tmp server.key
  mv -f server.crt.tmp server.crt
  mv -f server.fullchain.crt.tmp server.fullchain.crt
  printf '%s' "$san" > server.hosts
  rm -f server.csr server.ext
else
  echo "certs: server certificate for $san is current"
fi
chmod 0644 ca.crt
chmod 0755 .
openssl x509 -in server.crt -noout -subject -enddate
