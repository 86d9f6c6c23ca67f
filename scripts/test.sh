#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (lint, types, tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
scripts/install.sh "[test]"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/seatlease-runtime-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR"
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== import-linter"; .venv/bin/lint-imports
echo "== mypy"; .venv/bin/mypy service domain billing provisioning tests bench
echo "== pytest"; .venv/bin/pytest "$@"
