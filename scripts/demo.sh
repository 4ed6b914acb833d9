#!/usr/bin/env bash
# The main job on a fresh clone: install (npm ci brings Node 24), build, and run a dev server with the example
# services registered, on http://127.0.0.1:8500 (override with MESHGATE_HTTP_ADDR).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build --silent
exec bin/meshgate server --dev --demo --http-addr "${MESHGATE_HTTP_ADDR:-127.0.0.1:8500}" "$@"
