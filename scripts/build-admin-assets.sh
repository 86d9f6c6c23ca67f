#!/usr/bin/env bash
# Installs the admin's front-end libraries from the npm registry (versions pinned in
# package-lock.json) and copies the files the admin serves into service/admin/static/vendor/
# (gitignored). The admin works without them, only plainer: forms post and pages reload.
# Swagger UI (swagger-ui-dist) is served by the app at /docs from here: no CDN, so the API's
# documentation works on a closed network. No package's install script runs (--ignore-scripts):
# swagger-ui-dist's dependency would otherwise call out to an analytics service.
# swagger-ui-dist stays at 5.17.14 (package.json): 5.35.0 stops drawing operations after the first
# dozen of our ~140 (tests/admin/test_console_front_door.py counts them).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
    echo "build-admin-assets: npm not found (apt-get install -y nodejs npm); the admin will run without htmx and Pico CSS" >&2
    exit 1
fi

if [ -f package-lock.json ]; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
else
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

vendor=service/admin/static/vendor
rm -rf "$vendor"
mkdir -p "$vendor"
cp node_modules/htmx.org/dist/htmx.min.js "$vendor/htmx.min.js"
cp node_modules/@picocss/pico/css/pico.min.css "$vendor/pico.min.css"
cp node_modules/htmx.org/LICENSE "$vendor/htmx.LICENSE" 2>/dev/null || true
cp node_modules/@picocss/pico/LICENSE.md "$vendor/pico.LICENSE.md" 2>/dev/null || true
# --- console (issue 13): Swagger UI for /docs ---
mkdir -p "$vendor/swagger-ui"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css "$vendor/swagger-ui/"
cp node_modules/swagger-ui-dist/LICENSE "$vendor/swagger-ui/LICENSE" 2>/dev/null || true
echo "build-admin-assets: $(ls "$vendor" | tr '\n' ' ')"
