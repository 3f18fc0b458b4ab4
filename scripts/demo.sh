#!/usr/bin/env bash
# The demo (`make demo`): the Bookinfo mesh on this machine. `meshctl demo` starts meshd, the
# ingress gateway and Bookinfo's workloads, each with its own sidecar (in network namespaces when
# run as root, else in local mode), then this script shows a few requests through the ingress.
# From a terminal it stays in the foreground until Ctrl-C and then removes the mesh; otherwise
# (no terminal on stdin) it leaves the mesh running and says how to stop it. MESHD_DEMO_EXIT=1
# removes the mesh after the tour in any case.
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
meshctl="$root_dir/build/bin/meshctl"
ingress_port="${MESHD_DEMO_PORT:-8080}"
export MESHD_SAMPLES_DIR="$root_dir/samples"

port_busy() {
  python3 -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# A mesh from an earlier run of the demo is replaced.
"$meshctl" down >/dev/null 2>&1 || true
for port in "$ingress_port" 15010 15014; do
  if port_busy "$port"; then
    echo "demo: port $port on 127.0.0.1 is taken; free it (or set MESHD_DEMO_PORT for the ingress)" >&2
    exit 1
  fi
done

"$meshctl" demo --detach --ingress-port "$ingress_port"

stop_mesh() { "$meshctl" down; }

echo
echo "== three requests through the ingress gateway (reviews rotate across v1, v2 and v3)"
for _ in 1 2 3; do
  page="$(curl -s "http://127.0.0.1:$ingress_port/productpage")"
  version="v1 (no stars)"
  grep -q 'color="black"' <<<"$page" && version="v2 (black stars)"
  grep -q 'color="red"' <<<"$page" && version="v3 (red stars)"
  title="$(grep -o '<title>[^<]*</title>' <<<"$page" | sed -e 's/<[^>]*>//g')"
  echo "\$ curl http://127.0.0.1:$ingress_port/productpage   -> \"$title\", reviews $version"
done
echo
echo "== the mesh"
"$meshctl" status
echo
"$meshctl" proxy-status || true
echo
echo "Try the Istio tasks: $meshctl apply -f samples/bookinfo/networking/virtual-service-all-v1.yaml"
echo "(docs/getting-started.md walks through them)"

if [ "${MESHD_DEMO_EXIT:-0}" = "1" ]; then
  stop_mesh
elif [ -t 0 ]; then
  trap 'echo; stop_mesh; exit 0' INT TERM
  echo "Open http://127.0.0.1:$ingress_port/productpage — Ctrl-C stops the mesh."
  while true; do sleep 3600; done
else
  echo "The mesh keeps running: http://127.0.0.1:$ingress_port/productpage"
  echo "Stop it with: $meshctl down"
fi
