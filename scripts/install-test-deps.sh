#!/usr/bin/env bash
# Installs everything the test suite needs: Debian packages for the real peers (when missing) and npm packages,
# which bring Node 24 into node_modules/.bin (the system Node may be older; see ARCHITECTURE.md).
set -euo pipefail
cd "$(dirname "$0")/.."

# command-to-package pairs the tests start for real
needed=(
  "dig:dnsutils"
  "etcd:etcd-server"
  "redis-server:redis-server"
  "nginx:nginx"
  "wrk:wrk"
  "h2load:nghttp2-client"
  "tcpdump:tcpdump"
  "vmagent:victoria-metrics"
  "chromium:chromium"
  "pebble:pebble"
  "iptables:iptables"
  "ip:iproute2"
  "openssl:openssl"
  "curl:curl"
  "conntrack:conntrack"
  "systemd-analyze:systemd"
)
# PostgreSQL's server binaries live outside PATH on Debian (/usr/lib/postgresql/<major>/bin)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing_pg=1
missing=()
for pair in "${needed[@]}"; do
  cmd="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("$pkg")
done
[ -z "${missing_pg:-}" ] || missing+=("postgresql")
# nginx's stream module (the gateway's TCP benchmark and proxy-protocol peer) is a separate Debian package
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=("libnginx-mod-stream")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts daemons on install; the tests start their own on loopback with their own ports.
  for svc in nginx redis-server etcd victoria-metrics postgresql pebble; do $sudo_cmd service "$svc" stop >/dev/null 2>&1 || true; done
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
