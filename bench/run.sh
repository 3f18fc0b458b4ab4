#!/usr/bin/env bash
# Runs the benchmarks on the release build and prints their numbers (medians of repetitions).
# Usage: make bench   (or bench/run.sh [core])
set -euo pipefail
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root_dir"
which="${1:-core}"

cmake --preset release >/dev/null
cmake --build --preset release --target core_bench >/dev/null

case "$which" in
core)
  # Pinned to one core so the other one is free for the machine; 5 repetitions, medians shown.
  taskset -c 1 build/release/bin/core_bench --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true --benchmark_min_time=0.2 \
    --benchmark_counters_tabular=true | grep -E '^(Benchmark|-|Run on|.*_median)'
  ;;
*)
  echo "unknown benchmark '$which' (core)" >&2
  exit 2
  ;;
esac
