#!/usr/bin/env bash
# Comparative HTTP/1.1 load benchmark (bench/run.sh http): one run on loopback measures four paths
# to the same nginx backend -- direct, through mesh-proxy, through haproxy, through nginx as a
# reverse proxy -- and prints markdown tables (throughput, latency, proxy CPU per request, memory)
# plus mesh-proxy's ratios to the two peers. Measurements, never pass/fail.
#
# Every proxy runs one worker (mesh-proxy --concurrency 1, haproxy nbthread 1, nginx
# worker_processes 1), keeps connections to the backend alive and logs no requests; the peer
# configurations are the bench/http/*.in templates. Per path: wrk closed loops at 1, 16 and 64
# connections, then one open-loop run at a fixed rate (bench/tools/rate_load.cc). If a proxy cannot
# start (mesh-proxy without HTTP support exits naming the unsupported field), its path is reported
# "not available (reason)" and the others are still measured; ratios need both sides.
#
# Pinning (2 cores): the proxy under test gets core 1 to itself; the backend and the load generator
# share core 0. The proxy is the component being compared, so nothing else competes with it for
# its core and its CPU/request and req/s are not perturbed by the load generator; the backend is
# the cheapest hop (a fixed 6-byte answer). The direct path uses the same placement, so its latency
# is the baseline for "added latency" (its req/s is wrk and the backend sharing one core, not a
# ceiling). With 3+ cores the backend moves to core 2. Override with BENCH_PROXY_CPUS,
# BENCH_BACKEND_CPUS, BENCH_LOAD_CPUS (taskset -c lists).
#
# Environment:
#   BENCH_SECONDS=10          duration of each wrk run (whole seconds)
#   BENCH_CONNECTIONS="1 16 64"  wrk connection counts
#   BENCH_WRK_THREADS=1       wrk threads (capped at the connection count)
#   BENCH_RATE=2000           open-loop rate in requests/s (0 skips the open-loop run)
#   BENCH_RATE_SECONDS        open-loop duration (default BENCH_SECONDS)
#   BENCH_RATE_CONNECTIONS=16 keep-alive connections of the open-loop run
#   BENCH_WARMUP_SECONDS=1    unmeasured 64-connection wrk run before a path's first measurement
#   BENCH_PEERS="direct mesh-proxy haproxy nginx"  paths to measure, in this order
#   BENCH_KEEP_TMP=1          keep the temporary directory (configs, logs, raw outputs)
#   MESH_PROXY_BIN, RATE_LOAD_BIN  binaries (default: the release build)
#   BENCH_MESH_PROXY_UNAVAILABLE  reason to skip mesh-proxy (bench/run.sh sets it if the build fails)
#
# The helpers shared with bench/h2_bench.sh (servers, cleanup, CPU and memory accounting, report
# formatting) are in bench/lib.sh.
#
# Requires wrk, haproxy, nginx, curl, taskset, setsid, pgrep, python3 (free ports). Ports are free
# ones on 127.0.0.1 chosen at start; everything lives in a temporary directory; every server is
# started in its own process group and stopped on exit, error, Ctrl-C or TERM.
set -euo pipefail

bench_name=http_bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${BENCH_SECONDS:-10}"
connection_levels="${BENCH_CONNECTIONS:-1 16 64}"
wrk_threads="${BENCH_WRK_THREADS:-1}"
rate="${BENCH_RATE:-2000}"
rate_seconds="${BENCH_RATE_SECONDS:-$seconds}"
rate_connections="${BENCH_RATE_CONNECTIONS:-16}"
warmup_seconds="${BENCH_WARMUP_SECONDS:-1}"
peers="${BENCH_PEERS:-direct mesh-proxy haproxy nginx}"
rate_load_bin="${RATE_LOAD_BIN:-$root_dir/build/release/bin/rate_load}"
loads=() # load ids in order: c1 c16 c64 rate

# ---------------------------------------------------------------------------------------------
# Settings and tools

check_settings() {
  is_positive "$seconds" || die "BENCH_SECONDS must be a positive integer"
  is_positive "$rate_seconds" || die "BENCH_RATE_SECONDS must be a positive integer"
  is_uint "$warmup_seconds" || die "BENCH_WARMUP_SECONDS must be an integer"
  is_uint "$rate" || die "BENCH_RATE must be an integer (requests/s)"
  is_positive "$rate_connections" || die "BENCH_RATE_CONNECTIONS must be a positive integer"
  is_positive "$wrk_threads" || die "BENCH_WRK_THREADS must be a positive integer"
  local c peer
  for c in $connection_levels; do
    is_positive "$c" || die "BENCH_CONNECTIONS must list positive integers"
    loads+=("c$c")
  done
  if ((rate > 0)); then loads+=(rate); fi
  for peer in $peers; do
    case "$peer" in
    direct | mesh-proxy | haproxy | nginx) ;;
    *) die "unknown peer '$peer' in BENCH_PEERS (direct mesh-proxy haproxy nginx)" ;;
    esac
  done
}

check_tools() {
  require_tools wrk haproxy nginx
  if ((rate > 0)) && [[ ! -x "$rate_load_bin" ]]; then
    die "$rate_load_bin is missing (cmake --build --preset release --target rate_load)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Hooks of bench/lib.sh

start_proxy() {
  case "$1" in
  mesh-proxy) start_mesh_proxy mesh-proxy "$backend_port" "{}" ;;
  haproxy) start_haproxy "" "" "$backend_port" ;;
  nginx) start_nginx "" ;;
  esac
}


run_wrk() { # connections seconds url out
  local threads=$((wrk_threads < $1 ? wrk_threads : $1))
  run_load "$2" "$4" wrk -t "$threads" -c "$1" -d "$2s" --timeout 2s --latency \
    -s "$bench_dir/tools/wrk_report.lua" "$3"
}

run_rate_load() { # url out
  run_load "$rate_seconds" "$2" "$rate_load_bin" --rate "$rate" --duration "$rate_seconds" \
    --connections "$rate_connections" --timeout 2 "$1"
}

# measure_load PATH LOAD URL PROXY_PGID: one measured run with CPU accounting around it.

# run_measured_tool PATH LOAD URL OUT: wrk for the cN loads, rate_load for the open-loop one.
run_measured_tool() {
  local path="$1" load="$2" url="$3" out="$4"
  if [[ "$load" == rate ]]; then
    run_rate_load "$url" "$out" || true
  else
    run_wrk "${load#c}" "$seconds" "$url" "$out" || true
  fi
  store_kv "$path" "$load" "$out"
  if [[ "$load" == rate ]]; then
    result["$path/$load/rps"]="${result["$path/$load/achieved_rps"]:-}"
    result["$path/$load/requests"]="${result["$path/$load/completed"]:-}"
  fi
}

warm_up() { # url
  ((warmup_seconds > 0)) || return 0
  run_wrk 64 "$warmup_seconds" "$1" "$work_dir/warmup.out" || true
}

load_label() {
  case "$1" in
  rate) echo "$rate req/s open loop ($rate_connections conn)" ;;
  c1) echo "1 conn" ;;
  *) echo "${1#c} conn" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Report

print_header() {
  echo "## HTTP/1.1 proxies on loopback — $(date -u +%Y-%m-%d)"
  echo
  machine_line
  echo "Loads: wrk -t$wrk_threads ($(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }')) ${seconds} s at" \
    "$connection_levels connections; rate_load $rate req/s for ${rate_seconds} s over $rate_connections" \
    "connections (latency from the scheduled send time). Backend: nginx $(nginx -v 2>&1 | sed 's|.*/||')," \
    "1 worker, a fixed 6-byte body. Peers: $(haproxy -v | head -n 1 | awk '{ print "haproxy", $3 }')," \
    "nginx reverse proxy, mesh-proxy $(git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "(release build); one worker each, upstream keep-alive, no access logs."
  echo
}

print_load_table() {
  local path load k
  echo "| path | load | req/s | p50 | p90 | p99 | max | errors | proxy CPU µs/req | proxy CPU % | backend CPU µs/req |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for path in $peers; do
    measured "$path" || [[ "${status[$path]:-}" == stopped* ]] || continue
    for load in "${loads[@]}"; do
      k="$path/$load"
      [[ -n "${result["$k/rps"]:-}" ]] || continue
      echo "| $path | $(load_label "$load") | $(fmt_int "${result["$k/rps"]}") |" \
        "$(fmt_us "${result["$k/p50_us"]:-}") | $(fmt_us "${result["$k/p90_us"]:-}") |" \
        "$(fmt_us "${result["$k/p99_us"]:-}") | $(fmt_us "${result["$k/max_us"]:-}") |" \
        "${result["$k/errors"]:-–} | $(fmt_num "${result["$k/proxy_us"]:-}") |" \
        "$(fmt_int "${result["$k/proxy_busy"]:-}") | $(fmt_num "${result["$k/backend_us"]:-}") |"
    done
  done
  echo
}

print_ratio_table() {
  local load m h n
  if ! measured mesh-proxy; then
    echo "No mesh-proxy ratios: mesh-proxy was not measured."
    return
  fi
  echo "| load | req/s vs haproxy | req/s vs nginx | CPU/req vs haproxy | CPU/req vs nginx |" \
    "added p50 mesh-proxy | added p50 haproxy | added p50 nginx |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for load in "${loads[@]}"; do
    m="mesh-proxy/$load" h="haproxy/$load" n="nginx/$load"
    echo "| $(load_label "$load") |" \
      "$(ratio_if haproxy "${result["$m/rps"]:-}" "${result["$h/rps"]:-}") |" \
      "$(ratio_if nginx "${result["$m/rps"]:-}" "${result["$n/rps"]:-}") |" \
      "$(ratio_if haproxy "${result["$m/proxy_us"]:-}" "${result["$h/proxy_us"]:-}") |" \
      "$(ratio_if nginx "${result["$m/proxy_us"]:-}" "${result["$n/proxy_us"]:-}") |" \
      "$(added_if mesh-proxy "$load") | $(added_if haproxy "$load") | $(added_if nginx "$load") |"
  done
  echo
  echo "PSS after load, mesh-proxy vs haproxy: $(ratio_if haproxy "${result[mesh-proxy/mem/pss_after]:-}" \
    "${result[haproxy/mem/pss_after]:-}"); vs nginx: $(ratio_if nginx \
    "${result[mesh-proxy/mem/pss_after]:-}" "${result[nginx/mem/pss_after]:-}")."
  echo
}

print_report() {
  print_header
  print_load_table
  print_unavailable
  print_memory_table
  print_ratio_table
  print_accounting_note
}

# ---------------------------------------------------------------------------------------------

main() {
  check_settings
  check_tools
  choose_cpus
  begin_run
  # The backend also listens for h2c (bench/h2_bench.sh uses it); nothing here connects there.
  read -r backend_port backend_h2_port proxy_port admin_port <<<"$(free_ports 4)"
  local per_path=$(($(wc -w <<<"$connection_levels") * seconds + warmup_seconds))
  if ((rate > 0)); then per_path=$((per_path + rate_seconds)); fi
  log "peers: $peers; about $((per_path * $(wc -w <<<"$peers"))) s of load;" \
    "proxy on CPU $proxy_cpus, backend on CPU $backend_cpus, load on CPU $load_cpus"
  start_backend
  local path
  for path in $peers; do
    measure_path "$path" "http://127.0.0.1:$backend_port/"
  done
  print_report
}

main "$@"
