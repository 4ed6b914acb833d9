#!/usr/bin/env bash
# The main job on a fresh clone: install (npm ci brings Node 24), build (the UI included), then start the whole
# architecture on loopback — server with ACLs, agent, services A → B → C with sidecars, a legacy app and Redis,
# the gateway — and print the UI and gateway URLs, a login token and curl lines to try (examples/demo/run.ts).
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build --silent
exec node examples/demo/run.ts "$@"
