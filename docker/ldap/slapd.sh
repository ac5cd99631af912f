#!/bin/sh
# Entry point of the OpenLDAP service (docker/ldap/Dockerfile), also run by
# the CI check e2e/compose/ldap-realm.spec.ts so that both start the same way.
#
# Writes a static slapd configuration (mdb backend, the schemas the sample
# directory needs) into the data directory, loads LDAP_BOOTSTRAP_LDIF into an
# empty database on first start, then runs slapd in the foreground.
# `slapd.sh init` stops after the load.
#
# Environment:
#   LDAP_ADMIN_PASSWORD  password of cn=admin,<suffix> (required); Keycloak binds with it
#   LDAP_SUFFIX          default dc=halyard,dc=example (must match the LDIF)
#   LDAP_DATA_DIR        default /var/lib/ldap (configuration and database)
#   LDAP_BOOTSTRAP_LDIF  default /etc/ldap/halyard/bootstrap.ldif
#   LDAP_URLS            default ldap://0.0.0.0:1389/ (an unprivileged port: no root needed)
#   LDAP_LOG_LEVEL       slapd -d level, default stats (connections, binds, searches)
#   LDAP_MODULE_DIR, LDAP_SCHEMA_DIR  Debian's /usr/lib/ldap and /etc/ldap/schema
set -eu

: "${LDAP_ADMIN_PASSWORD:?LDAP_ADMIN_PASSWORD must be set}"
suffix=${LDAP_SUFFIX:-dc=halyard,dc=example}
data=${LDAP_DATA_DIR:-/var/lib/ldap}
ldif=${LDAP_BOOTSTRAP_LDIF:-/etc/ldap/halyard/bootstrap.ldif}
urls=${LDAP_URLS:-ldap://0.0.0.0:1389/}
modules=${LDAP_MODULE_DIR:-/usr/lib/ldap}
schemas=${LDAP_SCHEMA_DIR:-/etc/ldap/schema}

umask 077
mkdir -p "$data/db"

# The admin password is hashed (SSHA) and passed through a file, never on a command line.
pwfile=$(mktemp)
trap 'rm -f "$pwfile"' EXIT
printf '%s' "$LDAP_ADMIN_PASSWORD" > "$pwfile"
rootpw=$(slappasswd -T "$pwfile")
rm -f "$pwfile"

cat > "$data/slapd.conf" <<CONF
include $schemas/core.schema
include $schemas/cosine.schema
include $schemas/inetorgperson.schema

modulepath $modules
moduleload back_mdb

pidfile $data/slapd.pid
argsfile $data/slapd.args

database mdb
maxsize 1073741824
suffix "$suffix"
rootdn "cn=admin,$suffix"
rootpw $rootpw
directory $data/db
index objectClass eq
index uid,cn,mail eq,sub
index member eq

# Users may check their own password (Keycloak binds as them to sign them in)
# and read the directory; anonymous clients may only authenticate.
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
CONF

if [ ! -f "$data/db/data.mdb" ]; then
  echo "ldap: loading $ldif into $suffix"
  slapadd -f "$data/slapd.conf" -l "$ldif"
fi

if [ "${1:-run}" = init ]; then exit 0; fi
exec slapd -f "$data/slapd.conf" -h "$urls" -d "${LDAP_LOG_LEVEL:-stats}"
