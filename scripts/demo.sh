#!/usr/bin/env bash
# The main job on a fresh clone: install (npm ci brings Node 24), build, run a dev server on
# http://127.0.0.1:8500 (MESHGATE_HTTP_ADDR overrides) and register the example services against it
# (examples/demo/run.ts). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
export PATH="$PWD/node_modules/.bin:$PATH"
npm run build --silent
addr="${MESHGATE_HTTP_ADDR:-127.0.0.1:8500}"
bin/meshgate server --dev --http-addr "$addr" "$@" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://$addr/v1/status/leader" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "meshgate server failed to start" >&2; exit 1; }
  sleep 0.1
done
MESHGATE_HTTP_ADDR="$addr" node examples/demo/run.ts
