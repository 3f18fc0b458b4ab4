# Shared parts of the comparative load benchmarks (bench/http_bench.sh for HTTP/1.1,
# bench/h2_bench.sh for HTTP/2): pinning, free ports, config templates, servers in their own
# process groups and their cleanup, per-process CPU and memory accounting, the measured-run loop and
# the number formatting of the markdown reports. Sourced, never run.
#
# The sourcing script sets bench_name (log prefix) and defines the hooks this file calls:
#   start_proxy PATH                      start that path's proxy on proxy_port, set started_pgid, or
#                                         set unavailable_reason and return 1
#   run_measured_tool PATH LOAD URL OUT   run one load, store its figures in result["PATH/LOAD/..."]
#                                         (at least rps and requests; p50_us... errors when known)
#   warm_up URL                           an unmeasured run before a path's first measurement
#   load_label LOAD                       how a load id is shown
# and the variables peers, loads (load ids in order), seconds, client_curl (curl options that make
# curl speak the downstream protocol of the proxies under test), and admin_port / proxy_port.
# shellcheck shell=bash disable=SC2154 # those variables are the sourcing script's

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_dir="$root_dir/bench"
mesh_proxy_bin="${MESH_PROXY_BIN:-$root_dir/build/release/bin/mesh-proxy}"
clk_tck="$(getconf CLK_TCK)"

work_dir=""
server_pgids=() # process groups of every server started (pgid = pid of the started process)
backend_pgid=""
load_pid="" # the load tool while it runs
backend_port=""    # the backend's HTTP/1.1 port
backend_h2_port="" # the backend's h2c (prior knowledge) port
client_curl=()
declare -A result=() # "path/load/field" -> value
declare -A status=() # path -> "ok" or the reason it was not measured

log() { echo "$bench_name: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Settings, tools, placement

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
is_positive() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }

require_tools() {
  local tool
  for tool in "$@" curl taskset setsid pgrep python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done
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
  if grep -q '@[A-Z_0-9]*@' "$out"; then
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

# Creates the temporary directory and installs the traps that stop every server on exit, error,
# Ctrl-C or TERM.
begin_run() {
  work_dir="$(mktemp -d "${TMPDIR:-/tmp}/meshd-$bench_name.XXXXXX")"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# wait_for_url URL PGID [CURL_OPTION...]: waits until URL answers (2xx) while the process group
# lives; 5 s at most.
wait_for_url() {
  local url="$1" pgid="$2" _
  shift 2
  for _ in $(seq 1 50); do
    group_alive "$pgid" || return 1
    curl -fs --max-time 1 "$@" -o /dev/null "$url" && return 0
    sleep 0.1
  done
  return 1
}

# answers_hello URL [CURL_OPTION...]: true if GET URL returns the backend's answer.
answers_hello() {
  local url="$1"
  shift
  [[ "$(curl -fs --max-time 2 "$@" "$url" 2>/dev/null)" == hello ]]
}

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
# Servers (templates in bench/http/)

# The nginx backend: one worker answering "hello\n", HTTP/1.1 on backend_port and h2c (prior
# knowledge) on backend_h2_port.
start_backend() {
  mkdir -p "$work_dir/nginx-backend-temp"
  render "$bench_dir/http/nginx-backend.conf.in" "$work_dir/nginx-backend.conf" \
    "DIR=$work_dir" "BACKEND_PORT=$backend_port" "BACKEND_H2_PORT=$backend_h2_port"
  start_server nginx-backend "$backend_cpus" nginx -p "$work_dir/" -e stderr \
    -c "$work_dir/nginx-backend.conf"
  backend_pgid="$started_pgid"
  if ! wait_for_url "http://127.0.0.1:$backend_port/" "$backend_pgid" ||
    ! answers_hello "http://127.0.0.1:$backend_port/" ||
    ! answers_hello "http://127.0.0.1:$backend_h2_port/" --http2-prior-knowledge; then
    die "the backend did not start: $(failure_reason nginx-backend)"
  fi
}

# start_mesh_proxy NAME UPSTREAM_PORT UPSTREAM_OPTIONS: mesh-proxy (codec AUTO) on proxy_port in
# front of the backend's UPSTREAM_PORT; UPSTREAM_OPTIONS is the cluster's
# typed_extension_protocol_options as a one-line YAML flow mapping.
start_mesh_proxy() {
  local name="$1"
  if [[ -n "${BENCH_MESH_PROXY_UNAVAILABLE:-}" ]]; then
    unavailable_reason="$BENCH_MESH_PROXY_UNAVAILABLE"
    return 1
  fi
  if [[ ! -x "$mesh_proxy_bin" ]]; then
    unavailable_reason="$mesh_proxy_bin is not built"
    return 1
  fi
  render "$bench_dir/http/mesh-proxy.yaml.in" "$work_dir/$name.yaml" \
    "ADMIN_PORT=$admin_port" "PROXY_PORT=$proxy_port" "BACKEND_PORT=$2" "UPSTREAM_OPTIONS=$3"
  start_server "$name" "$proxy_cpus" "$mesh_proxy_bin" -c "$work_dir/$name.yaml" \
    --concurrency 1 --log-level warning
  if ! wait_for_url "http://127.0.0.1:$admin_port/ready" "$started_pgid"; then
    sleep 0.2 # let a failing start finish writing its error
    unavailable_reason="$(failure_reason "$name")"
    [[ -n "$unavailable_reason" ]] || unavailable_reason="admin /ready did not answer within 5 s"
    return 1
  fi
}

# start_haproxy BIND_OPTIONS SERVER_OPTIONS UPSTREAM_PORT (options: "" or "proto h2").
start_haproxy() {
  render "$bench_dir/http/haproxy.cfg.in" "$work_dir/haproxy.cfg" \
    "PROXY_PORT=$proxy_port" "BIND_OPTIONS=$1" "SERVER_OPTIONS=$2" "BACKEND_PORT=$3"
  start_server haproxy "$proxy_cpus" haproxy -db -f "$work_dir/haproxy.cfg"
  wait_for_url "http://127.0.0.1:$proxy_port/" "$started_pgid" "${client_curl[@]}" || {
    unavailable_reason="$(failure_reason haproxy)"
    return 1
  }
}

# start_nginx LISTEN_OPTIONS ("" or "http2"): always HTTP/1.1 keep-alive to the backend's
# HTTP/1.1 port (nginx 1.22 cannot proxy to an HTTP/2 upstream).
start_nginx() {
  mkdir -p "$work_dir/nginx-proxy-temp"
  render "$bench_dir/http/nginx-proxy.conf.in" "$work_dir/nginx-proxy.conf" \
    "DIR=$work_dir" "PROXY_PORT=$proxy_port" "LISTEN_OPTIONS=$1" "BACKEND_PORT=$backend_port"
  start_server nginx "$proxy_cpus" nginx -p "$work_dir/" -e stderr -c "$work_dir/nginx-proxy.conf"
  wait_for_url "http://127.0.0.1:$proxy_port/" "$started_pgid" "${client_curl[@]}" || {
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

# measure_load PATH LOAD URL PROXY_PGID: one measured run with CPU accounting around it.
measure_load() {
  local path="$1" load="$2" url="$3" pgid="$4" out="$work_dir/$1-$2.out"
  local proxy_before=0 proxy_after=0 backend_before backend_after started ended requests
  if [[ -n "$pgid" ]]; then proxy_before="$(cpu_ticks "$pgid")"; fi
  backend_before="$(cpu_ticks "$backend_pgid")"
  started="$(date +%s.%N)"
  run_measured_tool "$path" "$load" "$url" "$out"
  ended="$(date +%s.%N)"
  if [[ -n "$pgid" ]]; then proxy_after="$(cpu_ticks "$pgid")"; fi
  backend_after="$(cpu_ticks "$backend_pgid")"
  requests="${result["$path/$load/requests"]:-}"
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
    "p50 $(fmt_us "${result["$path/$load/p50_us"]:-}"), p99 $(fmt_us "${result["$path/$load/p99_us"]:-}")," \
    "errors ${result["$path/$load/errors"]:-?}, proxy $(fmt_num "${result["$path/$load/proxy_us"]:-}") µs/req"
}

# measure_path PATH DIRECT_URL: starts the path's proxy (none for direct, which loads DIRECT_URL),
# runs every load, stops it.
measure_path() {
  local path="$1" url="http://127.0.0.1:$proxy_port/" pgid="" load
  unavailable_reason="" started_pgid=""
  if [[ "$path" == direct ]]; then
    url="$2"
  else
    log "starting $path"
    if ! start_proxy "$path"; then
      status["$path"]="not available (${unavailable_reason:-did not start})"
      log "$path: ${status[$path]}"
      stop_group "$started_pgid"
      return 0
    fi
    pgid="$started_pgid"
    if ! answers_hello "$url" "${client_curl[@]}"; then
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
ratio_if() { measured "$1" && fmt_ratio "$2" "$3" || echo "–"; }
added_if() { measured "$1" && measured direct && added_p50 "$1" "$2" || echo "–"; }

machine_line() {
  local cpu
  cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "Machine: $(nproc) CPU ($cpu), $(uname -r). Pinning: proxy on CPU $proxy_cpus, backend on" \
    "CPU $backend_cpus, load generator on CPU $load_cpus."
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

# The closing paragraph on how the CPU and memory columns are computed.
print_accounting_note() {
  echo "CPU µs/req: utime+stime of the proxy's processes (/proc/PID/stat, $clk_tck ticks/s) over the" \
    "run / requests completed; proxy CPU %: of one core over the run. Memory: Rss and Pss of" \
    "/proc/PID/smaps_rollup summed over the proxy's processes, idle = after start, before any load." \
    "Ratios: mesh-proxy / peer (req/s: higher is better; CPU/req: lower is better)."
}
