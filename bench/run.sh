#!/usr/bin/env bash
# Runs the benchmarks on the release build and prints their numbers (medians of repetitions, or
# for the HTTP load tests one comparative run with ratios against its peers).
# Usage: make bench   (or bench/run.sh [core|http|h2])
set -euo pipefail
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root_dir"
which="${1:-core}"

cmake --preset release >/dev/null

# Builds mesh-proxy; if that fails (its code may be mid-change), the HTTP benchmarks still measure
# the peers and reports mesh-proxy as not available with the reason.
build_mesh_proxy() {
  local build_log
  build_log="$(mktemp "${TMPDIR:-/tmp}/meshd-build.XXXXXX")"
  if cmake --build --preset release --target mesh-proxy >"$build_log" 2>&1; then
    rm -f "$build_log"
    return
  fi
  echo "run.sh: the release build of mesh-proxy failed (last lines follow); measuring without it" >&2
  tail -n 15 "$build_log" >&2
  rm -f "$build_log"
  export BENCH_MESH_PROXY_UNAVAILABLE="the release build of mesh-proxy failed"
}

case "$which" in
core)
  cmake --build --preset release --target core_bench >/dev/null
  # Pinned to one core so the other one is free for the machine; 5 repetitions, medians shown.
  taskset -c 1 build/release/bin/core_bench --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
    --benchmark_counters_tabular=true | grep -E '^(Benchmark|-|Run on|.*_median)'
  ;;
http)
  # direct vs mesh-proxy vs haproxy vs nginx on loopback; knobs: see bench/http_bench.sh.
  cmake --build --preset release --target rate_load >/dev/null
  build_mesh_proxy
  exec bash bench/http_bench.sh
  ;;
h2)
  # HTTP/2 (h2c) clients: direct vs mesh-proxy vs haproxy vs nginx; knobs: see bench/h2_bench.sh.
  build_mesh_proxy
  exec bash bench/h2_bench.sh
  ;;
*)
  echo "unknown benchmark '$which' (core, http, h2)" >&2
  exit 2
  ;;
esac
