#!/usr/bin/env bash
# System packages the tests use: Debian's Chromium (admin pages in a real browser), FreeRADIUS
# with its PostgreSQL module (Wi-Fi logins) and Debian's PostgreSQL server (tests/production runs
# replicas against a server of its own, with TLS). Installed only when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v freeradius >/dev/null 2>&1 || need+=(freeradius freeradius-postgresql freeradius-utils)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# only the server binaries (/usr/lib/postgresql/<version>/bin) are used: no `main` cluster
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if [[ " ${need[*]} " == *" postgresql "* ]] && ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    $SUDO mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${need[@]}" >/dev/null
fi
