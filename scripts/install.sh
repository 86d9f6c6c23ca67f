#!/usr/bin/env bash
# Install seatlease into ./.venv (and build the admin's front-end assets when npm is there).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${1:-}"
if [ -x scripts/build-admin-assets.sh ]; then
  # htmx and Pico CSS from npm; without npm the admin still works, only plainer
  scripts/build-admin-assets.sh || echo "install: admin assets not built (install nodejs and npm for them)" >&2
fi
