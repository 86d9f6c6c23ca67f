#!/usr/bin/env bash
# System packages the tests use: Debian's Chromium (admin pages in a real browser) and
# FreeRADIUS with its PostgreSQL module (Wi-Fi logins). Installed only when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v freeradius >/dev/null 2>&1 || need+=(freeradius freeradius-postgresql freeradius-utils)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
