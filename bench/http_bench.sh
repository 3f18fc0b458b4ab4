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
# Requires wrk, haproxy, nginx, curl, taskset, setsid, pgrep, python3 (free ports). Ports are free
# ones on 127.0.0.1 chosen at start; everything lives in a temporary directory; every server is
# started in its own process group and stopped on exit, error, Ctrl-C or TERM.
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_dir="$root_dir/bench"

seconds="${BENCH_SECONDS:-10}"
connection_levels="${BENCH_CONNECTIONS:-1 16 64}"
wrk_threads="${BENCH_WRK_THREADS:-1}"
rate="${BENCH_RATE:-2000}"
rate_seconds="${BENCH_RATE_SECONDS:-$seconds}"
rate_connections="${BENCH_RATE_CONNECTIONS:-16}"
warmup_seconds="${BENCH_WARMUP_SECONDS:-1}"
peers="${BENCH_PEERS:-direct mesh-proxy haproxy nginx}"
mesh_proxy_bin="${MESH_PROXY_BIN:-$root_dir/build/release/bin/mesh-proxy}"
rate_load_bin="${RATE_LOAD_BIN:-$root_dir/build/release/bin/rate_load}"
clk_tck="$(getconf CLK_TCK)"

work_dir=""
server_pgids=() # process groups of every server started (pgid = pid of the started process)
backend_pgid=""
load_pid="" # the load tool while it runs
backend_port=""
declare -A result=() # "path/load/field" -> value
declare -A status=() # path -> "ok" or the reason it was not measured
loads=()             # load ids in order: c1 c16 c64 rate

log() { echo "http_bench: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Settings, tools, placement

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_positive() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

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

require_tools() {
  local tool
  for tool in wrk haproxy nginx curl taskset setsid pgrep python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
  if ((rate > 0)) && [[ ! -x "$rate_load_bin" ]]; then
    die "$rate_load_bin is missing (cmake --build --preset release --target rate_load)"
  fi
}

choose_cpus() {
  local cores
  cores="$(nproc)"
  if ((cores >= 3)); then
    proxy_cpus="${BENCH_PROXY_CPUS:-1}" backend_cpus="${BENCH_BACKEND_CPUS:-2}"
    load_cpus="${BENCH_LOAD_CPUS:-0}"
  elif ((cores == 2)); then
    proxy_cpus="${BENCH_PROXY_CPUS:-1}" backend_cpus="${BENCH_BACKEND_CPUS:-0}"
    load_cpus="${BENCH_LOAD_CPUS:-0}"
  else
    proxy_cpus="${BENCH_PROXY_CPUS:-0}" backend_cpus="${BENCH_BACKEND_CPUS:-0}"
    load_cpus="${BENCH_LOAD_CPUS:-0}"
  fi
}

# Prints N distinct free TCP ports of 127.0.0.1 (all bound at once, so they differ).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# render TEMPLATE OUT KEY=VALUE...: replaces every @KEY@ of the template.
render() {
  local template="$1" out="$2" pair
  shift 2
  local args=()
  for pair in "$@"; do
    args+=(-e "s|@${pair%%=*}@|${pair#*=}|g")
  done
  sed "${args[@]}" "$template" >"$out"
  if grep -q '@[A-Z_]*@' "$out"; then
    die "unfilled placeholder in $out"
  fi
}

# ---------------------------------------------------------------------------------------------
# Processes

# start_server NAME CPUS COMMAND...: runs COMMAND pinned to CPUS in a new session (its own process
# group, so the group can be stopped as a whole); sets started_pgid.
start_server() {
  local name="$1" cpus="$2"
  shift 2
  setsid taskset -c "$cpus" "$@" >"$work_dir/$name.log" 2>&1 </dev/null &
  started_pgid=$!
  server_pgids+=("$started_pgid")
}

# True while a process of the group runs (zombies waiting to be reaped do not count).
group_alive() {
  local pid stat
  for pid in $(group_pids "$1"); do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    [[ "${stat##*) }" == Z* ]] || return 0
  done
  return 1
}

# Stops a process group started here: TERM, up to 3 s of grace, then KILL; reaps its leader.
stop_group() {
  local pgid="$1" _ kept=() other
  [[ -n "$pgid" ]] || return 0
  if group_alive "$pgid"; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 30); do
      group_alive "$pgid" || break
      sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  wait "$pgid" 2>/dev/null || true
  for other in "${server_pgids[@]}"; do
    [[ "$other" == "$pgid" ]] || kept+=("$other")
  done
  server_pgids=("${kept[@]}")
}

cleanup() {
  local rc=$? pgid
  trap - EXIT INT TERM
  if [[ -n "$load_pid" ]]; then
    kill -TERM "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
  fi
  for pgid in "${server_pgids[@]}"; do
    stop_group "$pgid"
  done
  if [[ -n "$work_dir" && -d "$work_dir" ]]; then
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then
      log "kept $work_dir"
    else
      rm -rf "$work_dir"
    fi
  fi
  exit "$rc"
}

# Waits until URL answers (2xx) while the process group lives; 5 s at most.
wait_for_url() {
  local url="$1" pgid="$2" _
  for _ in $(seq 1 50); do
    group_alive "$pgid" || return 1
    curl -fs --max-time 1 -o /dev/null "$url" && return 0
    sleep 0.1
  done
  return 1
}

# True if GET URL returns the backend's answer.
answers_hello() { [[ "$(curl -fs --max-time 2 "$1" 2>/dev/null)" == hello ]]; }

# The last non-empty line a server wrote, as a one-line reason.
failure_reason() {
  local line
  line="$(grep -v '^[[:space:]]*$' "$work_dir/$1.log" 2>/dev/null | tail -n 1 || true)"
  line="${line#mesh-proxy: }"
  line="${line//"$work_dir/"/}"
  echo "${line:0:300}"
}

# ---------------------------------------------------------------------------------------------
# Per-process accounting

group_pids() { pgrep -g "$1" 2>/dev/null || true; }

# utime + stime (clock ticks) summed over the process group.
cpu_ticks() {
  local total=0 pid stat fields
  for pid in $(group_pids "$1"); do
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    read -r -a fields <<<"${stat##*) }" # fields[0] is field 3 (state): utime = 14, stime = 15
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# "processes rss_kb pss_kb" summed over the process group (smaps_rollup).
memory_kb() {
  local pid files=()
  for pid in $(group_pids "$1"); do
    files+=("/proc/$pid/smaps_rollup")
  done
  ((${#files[@]} > 0)) || {
    echo "0 0 0"
    return
  }
  awk -v n="${#files[@]}" '/^Rss:/ { r += $2 } /^Pss:/ { p += $2 } END { print n, r + 0, p + 0 }' \
    "${files[@]}" 2>/dev/null || echo "0 0 0"
}

record_memory() { # path when pgid
  local procs rss pss
  read -r procs rss pss <<<"$(memory_kb "$3")"
  result["$1/mem/procs"]="$procs"
  result["$1/mem/rss_$2"]="$rss"
  result["$1/mem/pss_$2"]="$pss"
}

# µs of CPU per request from a tick delta.
per_request_us() { awk -v t="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n }'; }

# ---------------------------------------------------------------------------------------------
# Servers

start_backend() {
  mkdir -p "$work_dir/nginx-backend-temp"
  render "$bench_dir/http/nginx-backend.conf.in" "$work_dir/nginx-backend.conf" \
    "DIR=$work_dir" "BACKEND_PORT=$backend_port"
  start_server nginx-backend "$backend_cpus" nginx -p "$work_dir/" -e stderr \
    -c "$work_dir/nginx-backend.conf"
  backend_pgid="$started_pgid"
  if ! wait_for_url "http://127.0.0.1:$backend_port/" "$backend_pgid" ||
    ! answers_hello "http://127.0.0.1:$backend_port/"; then
    die "the backend did not start: $(failure_reason nginx-backend)"
  fi
}

# start_proxy PATH: starts that proxy on proxy_port (setting started_pgid), or sets
# unavailable_reason and returns 1. Each server's output goes to $work_dir/PATH.log.
start_proxy() {
  case "$1" in
  mesh-proxy) start_mesh_proxy ;;
  haproxy) start_haproxy ;;
  nginx) start_nginx ;;
  esac
}

start_mesh_proxy() {
  if [[ -n "${BENCH_MESH_PROXY_UNAVAILABLE:-}" ]]; then
    unavailable_reason="$BENCH_MESH_PROXY_UNAVAILABLE"
    return 1
  fi
  if [[ ! -x "$mesh_proxy_bin" ]]; then
    unavailable_reason="$mesh_proxy_bin is not built"
    return 1
  fi
  render "$bench_dir/http/mesh-proxy.yaml.in" "$work_dir/mesh-proxy.yaml" \
    "ADMIN_PORT=$admin_port" "PROXY_PORT=$proxy_port" "BACKEND_PORT=$backend_port"
  start_server mesh-proxy "$proxy_cpus" "$mesh_proxy_bin" -c "$work_dir/mesh-proxy.yaml" \
    --concurrency 1 --log-level warning
  if ! wait_for_url "http://127.0.0.1:$admin_port/ready" "$started_pgid"; then
    sleep 0.2 # let a failing start finish writing its error
    unavailable_reason="$(failure_reason mesh-proxy)"
    [[ -n "$unavailable_reason" ]] || unavailable_reason="admin /ready did not answer within 5 s"
    return 1
  fi
}

start_haproxy() {
  render "$bench_dir/http/haproxy.cfg.in" "$work_dir/haproxy.cfg" \
    "PROXY_PORT=$proxy_port" "BACKEND_PORT=$backend_port"
  start_server haproxy "$proxy_cpus" haproxy -db -f "$work_dir/haproxy.cfg"
  wait_for_url "http://127.0.0.1:$proxy_port/" "$started_pgid" || {
    unavailable_reason="$(failure_reason haproxy)"
    return 1
  }
}

start_nginx() {
  mkdir -p "$work_dir/nginx-proxy-temp"
  render "$bench_dir/http/nginx-proxy.conf.in" "$work_dir/nginx-proxy.conf" \
    "DIR=$work_dir" "PROXY_PORT=$proxy_port" "BACKEND_PORT=$backend_port"
  start_server nginx "$proxy_cpus" nginx -p "$work_dir/" -e stderr -c "$work_dir/nginx-proxy.conf"
  wait_for_url "http://127.0.0.1:$proxy_port/" "$started_pgid" || {
    unavailable_reason="$(failure_reason nginx)"
    return 1
  }
}

# ---------------------------------------------------------------------------------------------
# Loads

# Copies the key=value lines of a tool's output into result["path/load/key"].
store_kv() {
  local path="$1" load="$2" file="$3" key value
  while IFS='=' read -r key value; do
    if [[ "$key" =~ ^[a-z0-9_]+$ ]]; then
      result["$path/$load/$key"]="$value"
    fi
  done <"$file"
}

# run_load SECONDS OUT COMMAND...: runs a load tool pinned to the load CPUs, killed if it outlives
# its run by 30 s. It runs as a background job so that a signal's trap fires at once instead of
# after the run (bash defers traps while a foreground command runs, and wrk catches SIGINT).
run_load() {
  local limit=$(($1 + 30)) out="$2" rc=0
  shift 2
  timeout --foreground -k 5 "$limit" taskset -c "$load_cpus" "$@" >"$out" 2>&1 &
  load_pid=$!
  wait "$load_pid" || rc=$?
  load_pid=""
  return "$rc"
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
measure_load() {
  local path="$1" load="$2" url="$3" pgid="$4" out="$work_dir/$1-$2.out"
  local proxy_before=0 proxy_after=0 backend_before backend_after started ended requests
  if [[ -n "$pgid" ]]; then proxy_before="$(cpu_ticks "$pgid")"; fi
  backend_before="$(cpu_ticks "$backend_pgid")"
  started="$(date +%s.%N)"
  if [[ "$load" == rate ]]; then
    run_rate_load "$url" "$out" || true
  else
    run_wrk "${load#c}" "$seconds" "$url" "$out" || true
  fi
  ended="$(date +%s.%N)"
  if [[ -n "$pgid" ]]; then proxy_after="$(cpu_ticks "$pgid")"; fi
  backend_after="$(cpu_ticks "$backend_pgid")"
  store_kv "$path" "$load" "$out"
  if [[ "$load" == rate ]]; then result["$path/$load/rps"]="${result["$path/$load/achieved_rps"]:-}"; fi
  requests="${result["$path/$load/requests"]:-${result["$path/$load/completed"]:-}}"
  if [[ -z "$requests" ]]; then
    log "$path $(load_label "$load"): the load tool failed: $(tail -n 1 "$out")"
    return 0
  fi
  result["$path/$load/backend_us"]="$(per_request_us $((backend_after - backend_before)) "$requests")"
  if [[ -n "$pgid" ]]; then
    result["$path/$load/proxy_us"]="$(per_request_us $((proxy_after - proxy_before)) "$requests")"
    result["$path/$load/proxy_busy"]="$(awk -v t=$((proxy_after - proxy_before)) -v hz="$clk_tck" \
      -v a="$started" -v b="$ended" 'BEGIN { printf "%.0f", 100 * t / hz / (b - a) }')"
  fi
  log "$path $(load_label "$load"): $(fmt_int "${result["$path/$load/rps"]}") req/s," \
    "p50 $(fmt_us "${result["$path/$load/p50_us"]}"), p99 $(fmt_us "${result["$path/$load/p99_us"]}")," \
    "errors ${result["$path/$load/errors"]:-?}, proxy $(fmt_num "${result["$path/$load/proxy_us"]:-}") µs/req"
}

warm_up() { # url
  ((warmup_seconds > 0)) || return 0
  run_wrk 64 "$warmup_seconds" "$1" "$work_dir/warmup.out" || true
}

# measure_path PATH: starts the path's proxy (none for direct), runs every load, stops it.
measure_path() {
  local path="$1" url="http://127.0.0.1:$proxy_port/" pgid="" load
  unavailable_reason="" started_pgid=""
  if [[ "$path" == direct ]]; then
    url="http://127.0.0.1:$backend_port/"
  else
    log "starting $path"
    if ! start_proxy "$path"; then
      status["$path"]="not available (${unavailable_reason:-did not start})"
      log "$path: ${status[$path]}"
      stop_group "$started_pgid"
      return 0
    fi
    pgid="$started_pgid"
    if ! answers_hello "$url"; then
      status["$path"]="not available (GET / through it did not return the backend's answer)"
      log "$path: ${status[$path]}"
      stop_group "$pgid"
      return 0
    fi
    record_memory "$path" idle "$pgid"
  fi
  status["$path"]=ok
  warm_up "$url"
  for load in "${loads[@]}"; do
    measure_load "$path" "$load" "$url" "$pgid"
    if [[ -n "$pgid" ]] && ! group_alive "$pgid"; then
      status["$path"]="stopped during the $(load_label "$load") run: $(failure_reason "$path")"
      log "$path: ${status[$path]}"
      return 0
    fi
  done
  if [[ -n "$pgid" ]]; then
    record_memory "$path" after "$pgid"
    stop_group "$pgid"
  fi
}

# ---------------------------------------------------------------------------------------------
# Report

load_label() {
  case "$1" in
  rate) echo "$rate req/s open loop ($rate_connections conn)" ;;
  c1) echo "1 conn" ;;
  *) echo "${1#c} conn" ;;
  esac
}

fmt_int() { [[ -n "${1:-}" ]] && printf "%.0f" "$1" || echo "–"; }
fmt_num() { [[ -n "${1:-}" ]] && printf "%.1f" "$1" || echo "–"; }

fmt_us() {
  [[ -n "${1:-}" ]] || {
    echo "–"
    return
  }
  awk -v v="$1" 'BEGIN {
    if (v < 1000) printf "%.0f µs", v; else if (v < 1e6) printf "%.2f ms", v / 1000;
    else printf "%.2f s", v / 1e6 }'
}

fmt_mib() { [[ -n "${1:-}" ]] && awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }' || echo "–"; }

# a / b as "1.23×", or "–" when either side is missing or b is zero.
fmt_ratio() {
  [[ -n "${1:-}" && -n "${2:-}" ]] || {
    echo "–"
    return
  }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "–" }'
}

# p50 of PATH minus p50 of direct for LOAD, as "+12 µs".
added_p50() {
  local p="${result["$1/$2/p50_us"]:-}" d="${result["direct/$2/p50_us"]:-}"
  [[ -n "$p" && -n "$d" ]] || {
    echo "–"
    return
  }
  local delta
  delta="$(awk -v p="$p" -v d="$d" 'BEGIN { print p - d }')"
  if [[ "$delta" == -* ]]; then
    echo "−$(fmt_us "${delta#-}")"
  else
    echo "+$(fmt_us "$delta")"
  fi
}

measured() { [[ "${status[$1]:-}" == ok ]]; }

print_header() {
  local cpu
  cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "## HTTP/1.1 proxies on loopback — $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) CPU ($cpu), $(uname -r). Pinning: proxy on CPU $proxy_cpus, backend on" \
    "CPU $backend_cpus, load generator on CPU $load_cpus."
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

print_unavailable() {
  local path any=0
  for path in $peers; do
    measured "$path" && continue
    echo "- $path: ${status[$path]:-not measured}"
    any=1
  done
  ((any == 0)) || echo
}

print_memory_table() {
  local path
  echo "| proxy | processes | RSS idle | PSS idle | RSS after load | PSS after load |"
  echo "|---|---:|---:|---:|---:|---:|"
  for path in $peers; do
    if [[ "$path" == direct ]] || ! measured "$path"; then continue; fi
    echo "| $path | ${result["$path/mem/procs"]:-–} | $(fmt_mib "${result["$path/mem/rss_idle"]:-}") |" \
      "$(fmt_mib "${result["$path/mem/pss_idle"]:-}") | $(fmt_mib "${result["$path/mem/rss_after"]:-}") |" \
      "$(fmt_mib "${result["$path/mem/pss_after"]:-}") |"
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

ratio_if() { measured "$1" && fmt_ratio "$2" "$3" || echo "–"; }
added_if() { measured "$1" && measured direct && added_p50 "$1" "$2" || echo "–"; }

print_report() {
  print_header
  print_load_table
  print_unavailable
  print_memory_table
  print_ratio_table
  echo "CPU µs/req: utime+stime of the proxy's processes (/proc/PID/stat, $clk_tck ticks/s) over the" \
    "run / requests completed; proxy CPU %: of one core over the run. Memory: Rss and Pss of" \
    "/proc/PID/smaps_rollup summed over the proxy's processes, idle = after start, before any load." \
    "Ratios: mesh-proxy / peer (req/s: higher is better; CPU/req: lower is better)."
}

# ---------------------------------------------------------------------------------------------

main() {
  check_settings
  require_tools
  choose_cpus
  work_dir="$(mktemp -d "${TMPDIR:-/tmp}/meshd-http-bench.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  read -r backend_port proxy_port admin_port <<<"$(free_ports 3)"
  local per_path=$(($(wc -w <<<"$connection_levels") * seconds + warmup_seconds))
  if ((rate > 0)); then per_path=$((per_path + rate_seconds)); fi
  log "peers: $peers; about $((per_path * $(wc -w <<<"$peers"))) s of load;" \
    "proxy on CPU $proxy_cpus, backend on CPU $backend_cpus, load on CPU $load_cpus"
  start_backend
  local path
  for path in $peers; do
    measure_path "$path"
  done
  print_report
}

main "$@"
