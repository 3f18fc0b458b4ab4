#!/usr/bin/env bash
# The demo (`make demo`): mesh-proxy in front of a sample backend, with curl showing requests
# going through it and the proxy's own view of them (admin stats). Until the full demo mesh
# exists (meshd + Bookinfo, issue 7), this is what meshd's data plane does today.
# Stays in the foreground until Ctrl-C when run from a terminal; exits after the tour otherwise
# (or with MESHD_DEMO_EXIT=1).
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
proxy_bin="$root_dir/build/bin/mesh-proxy"
work_dir="$(mktemp -d "${TMPDIR:-/tmp}/meshd-demo.XXXXXX")"
proxy_port="${MESHD_DEMO_PORT:-10000}"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work_dir"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # url, tries
  for _ in $(seq 1 "$2"); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "demo: $1 did not come up" >&2
  return 1
}

port_busy() {
  python3 -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}
if port_busy "$proxy_port"; then
  echo "demo: port $proxy_port is taken; using another (set MESHD_DEMO_PORT to choose)"
  proxy_port="$(free_port)"
fi
backend_port="$(free_port)"
admin_port="$(free_port)"

# The sample backend: a static web server with one page.
mkdir -p "$work_dir/www"
echo "Hello from the backend behind mesh-proxy" >"$work_dir/www/index.html"
(cd "$work_dir/www" && exec python3 -m http.server "$backend_port" --bind 127.0.0.1 \
  >"$work_dir/backend.log" 2>&1) &
pids+=($!)

sed -e "s/\${ADMIN_PORT}/$admin_port/" -e "s/\${PROXY_PORT}/$proxy_port/" \
  -e "s/\${BACKEND_PORT}/$backend_port/" "$root_dir/samples/tcp-proxy/bootstrap.yaml" \
  >"$work_dir/bootstrap.yaml"
"$proxy_bin" -c "$work_dir/bootstrap.yaml" --concurrency 2 2>"$work_dir/proxy.log" &
pids+=($!)

wait_for "http://127.0.0.1:$backend_port/" 50
if ! wait_for "http://127.0.0.1:$admin_port/ready" 50; then
  cat "$work_dir/proxy.log" >&2
  exit 1
fi

echo "== mesh-proxy listens on 127.0.0.1:$proxy_port and forwards to the backend on :$backend_port"
for i in 1 2 3; do
  echo "\$ curl http://127.0.0.1:$proxy_port/"
  curl -s "http://127.0.0.1:$proxy_port/"
done
echo
echo "== what the proxy saw (http://127.0.0.1:$admin_port/stats)"
curl -s "http://127.0.0.1:$admin_port/stats" | grep -E 'upstream_cx_total|downstream_cx_total|bytes'
echo
echo "Admin: http://127.0.0.1:$admin_port/ (stats, stats/prometheus, config_dump, clusters)"

if [ -t 0 ] && [ "${MESHD_DEMO_EXIT:-0}" != "1" ]; then
  echo "Try: curl http://127.0.0.1:$proxy_port/   — Ctrl-C stops the demo."
  wait "${pids[1]}"
fi
