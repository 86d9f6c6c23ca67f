#!/usr/bin/env bash
# Install and start seatlease: embedded PostgreSQL, migrations, demo data, API + worker + admin.
# Arguments go to `seatlease up` (e.g. --no-demo --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/seatlease up "$@"
