#!/usr/bin/env bash
# Install and start seatlease: embedded PostgreSQL, migrations, demo data, API + worker + admin.
# Arguments go to `seatlease up` (e.g. --no-demo --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
# the `seatlease` command lives in the project's virtualenv: say where, for the next commands
echo "seatlease is installed at $PWD/.venv/bin/seatlease"
echo "  run 'source .venv/bin/activate' to type plain 'seatlease' (user list, migrate, billing-run, ...)"
exec .venv/bin/seatlease up "$@"
