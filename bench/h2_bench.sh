#!/usr/bin/env bash
# Comparative HTTP/2 (h2c) load benchmark (bench/run.sh h2), the counterpart of bench/http_bench.sh:
# one run on loopback loads the same nginx backend with h2load over cleartext HTTP/2 with prior
# knowledge, directly and through each proxy, and prints markdown tables (throughput, latency,
# errors, proxy CPU per request, memory) plus mesh-proxy's ratios to its peers. Measurements,
# never pass/fail.
#
# Paths (the client side is always h2c; what differs is the upstream side):
#   direct         h2load → nginx backend (h2c port)
#   mesh-proxy     h2load → mesh-proxy (codec AUTO) → HTTP/2 cluster → backend h2c
#   haproxy        h2load → haproxy (bind proto h2) → server proto h2 → backend h2c
#   mesh-proxy-h1  h2load → mesh-proxy → HTTP/1.1 cluster → backend HTTP/1.1 (keep-alive)
#   haproxy-h1     h2load → haproxy (bind proto h2) → backend HTTP/1.1 (keep-alive)
#   nginx          h2load → nginx (listen http2) → proxy_pass HTTP/1.1 keep-alive → backend; nginx
#                  cannot proxy to an HTTP/2 upstream, so it is a downstream-h2 comparison only
# One worker each, no access logs; the configurations are the bench/http/*.in templates shared
# with the HTTP/1.1 benchmark. A proxy that cannot start is reported "not available (reason)".
#
# Loads: h2load -t1 at each level CxM (C connections, M concurrent streams per connection), for
# BENCH_SECONDS each, with its per-request log (--log-file) giving the latency percentiles (h2load
# prints only min/max/mean/sd). Pinning as in http_bench.sh: proxy on core 1, backend and load
# generator on core 0 (backend on core 2 with 3+ cores).
#
# Environment:
#   BENCH_SECONDS=10          duration of each h2load run (whole seconds)
#   BENCH_H2_LEVELS="1x1 4x10 16x10"  connections x streams per connection
#   BENCH_WARMUP_SECONDS=1    unmeasured 16x10 run before a path's first measurement
#   BENCH_PEERS="direct mesh-proxy haproxy mesh-proxy-h1 haproxy-h1 nginx"  paths, in this order
#   BENCH_KEEP_TMP=1          keep the temporary directory (configs, logs, raw outputs)
#   BENCH_PROXY_CPUS, BENCH_BACKEND_CPUS, BENCH_LOAD_CPUS  pinning (taskset -c lists)
#   MESH_PROXY_BIN            binary (default: the release build)
#   BENCH_MESH_PROXY_UNAVAILABLE  reason to skip mesh-proxy (bench/run.sh sets it if the build fails)
#
# Requires h2load (nghttp2-client), haproxy, nginx (with the http_v2 module), curl, taskset,
# setsid, pgrep, python3. Ports are free ones on 127.0.0.1 chosen at start; everything lives in a
# temporary directory; every server is started in its own process group and stopped on exit,
# error, Ctrl-C or TERM; every load is bounded (h2load -D, and a timeout 30 s beyond it).
set -euo pipefail

bench_name=h2_bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seconds="${BENCH_SECONDS:-10}"
levels="${BENCH_H2_LEVELS:-1x1 4x10 16x10}"
warmup_seconds="${BENCH_WARMUP_SECONDS:-1}"
peers="${BENCH_PEERS:-direct mesh-proxy haproxy mesh-proxy-h1 haproxy-h1 nginx}"
client_curl=(--http2-prior-knowledge)
loads=() # load ids in order: the levels as given (CxM)

# typed_extension_protocol_options of the mesh-proxy cluster that speaks h2c to the backend.
readonly mesh_h2_upstream='{ envoy.extensions.upstreams.http.v3.HttpProtocolOptions: { "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } } }'

check_settings() {
  is_positive "$seconds" || die "BENCH_SECONDS must be a positive integer"
  is_uint "$warmup_seconds" || die "BENCH_WARMUP_SECONDS must be an integer"
  local level peer
  for level in $levels; do
    [[ "$level" =~ ^[1-9][0-9]*x[1-9][0-9]*$ ]] ||
      die "BENCH_H2_LEVELS must list CONNECTIONSxSTREAMS pairs, e.g. 4x10"
    loads+=("$level")
  done
  for peer in $peers; do
    case "$peer" in
    direct | mesh-proxy | haproxy | mesh-proxy-h1 | haproxy-h1 | nginx) ;;
    *) die "unknown peer '$peer' in BENCH_PEERS (direct mesh-proxy haproxy mesh-proxy-h1 haproxy-h1 nginx)" ;;
    esac
  done
}

# ---------------------------------------------------------------------------------------------
# Hooks of bench/lib.sh

start_proxy() {
  case "$1" in
  mesh-proxy)
    start_mesh_proxy mesh-proxy "$backend_h2_port" "$mesh_h2_upstream" &&
      check_mesh_protocols 1
    ;;
  mesh-proxy-h1) start_mesh_proxy mesh-proxy-h1 "$backend_port" "{}" && check_mesh_protocols 0 ;;
  haproxy) start_haproxy "proto h2" "proto h2" "$backend_h2_port" ;;
  haproxy-h1) start_haproxy_h1_upstream ;;
  nginx) start_nginx http2 ;;
  esac
}

# check_mesh_protocols UPSTREAM_H2 (1 or 0): sends one request through the mesh-proxy just started
# and reads its admin stats, so that a run never measures a protocol other than the one it names:
# the client connection must be HTTP/2, and the upstream one HTTP/2 exactly when UPSTREAM_H2 is 1.
check_mesh_protocols() {
  local stats downstream_h2 upstream_h2
  answers_hello "http://127.0.0.1:$proxy_port/" "${client_curl[@]}" || {
    unavailable_reason="GET / through it did not return the backend's answer"
    return 1
  }
  stats="$(curl -fs --max-time 2 "http://127.0.0.1:$admin_port/stats")" || {
    unavailable_reason="admin /stats did not answer"
    return 1
  }
  downstream_h2="$(awk '$1 == "http.bench.downstream_cx_http2_total:" { print $2 }' <<<"$stats")"
  upstream_h2="$(awk '$1 == "cluster.backend.upstream_cx_http2_total:" { print $2 }' <<<"$stats")"
  if [[ "${downstream_h2:-0}" != 1 ]] || { (($1 == 1)) && [[ "${upstream_h2:-0}" == 0 ]]; } ||
    { (($1 == 0)) && [[ "${upstream_h2:-0}" != 0 ]]; }; then
    unavailable_reason="unexpected protocols after one request: downstream_cx_http2_total"
    unavailable_reason+=" ${downstream_h2:-missing}, upstream_cx_http2_total ${upstream_h2:-missing}"
    return 1
  fi
}

# haproxy's log file is named after the path, so that a failure reason is found under it.
start_haproxy_h1_upstream() {
  start_haproxy "proto h2" "" "$backend_port" || return 1
  ln -sf haproxy.log "$work_dir/haproxy-h1.log"
}

# run_h2load LEVEL SECONDS URL OUT [LOG]: h2load -t1 at LEVEL (CxM), h2c prior knowledge.
run_h2load() {
  local connections="${1%x*}" streams="${1#*x}" args=()
  if [[ -n "${5:-}" ]]; then args+=(--log-file "$5"); fi
  run_load "$2" "$4" h2load -t 1 -c "$connections" -m "$streams" -D "$2" "${args[@]}" "$3"
}

# Converts h2load's "time for request" figures (123us, 1.23ms, 1.23s) to µs.
to_us() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1e6 } }'
}

# Stores h2load's summary (req/s, request counts, status classes, time for request) and the
# percentiles of its per-request log into result["PATH/LOAD/..."]. requests = responses received;
# errors = requests that failed (reset, timed out, connection lost) + responses that were not 2xx.
parse_h2load() {
  local path="$1" load="$2" out="$3" request_log="$4" k="$1/$2" line
  local total started completed succeeded failed errored timedout s2xx s3xx s4xx s5xx
  line="$(grep -m1 '^finished in' "$out")" || return 0
  result["$k/rps"]="$(awk '{ print $4 + 0 }' <<<"$line")"
  line="$(grep -m1 '^requests:' "$out")" || return 0
  read -r total started completed succeeded failed errored timedout <<<"$(awk '{
    print $2, $4, $6, $8, $10, $12, $14 }' <<<"$line")"
  line="$(grep -m1 '^status codes:' "$out")" || return 0
  read -r s2xx s3xx s4xx s5xx <<<"$(awk '{ print $3, $5, $7, $9 }' <<<"$line")"
  result["$k/requests"]="$completed"
  result["$k/failed"]="$failed"
  result["$k/errors"]=$((failed + s3xx + s4xx + s5xx))
  result["$k/summary"]="$total total, $started started, $succeeded succeeded, $failed failed ($errored errored, $timedout timed out), status $s2xx 2xx $s4xx 4xx $s5xx 5xx"
  line="$(grep -m1 '^time for request:' "$out")" || return 0
  local min max mean sd
  read -r min max mean sd <<<"$(awk '{ print $4, $5, $6, $7 }' <<<"$line")"
  result["$k/min_us"]="$(to_us "$min")"
  result["$k/max_us"]="$(to_us "$max")"
  result["$k/mean_us"]="$(to_us "$mean")"
  result["$k/sd_us"]="$(to_us "$sd")"
  # The log's third column: µs from a request's start to the end of its response (status > 0:
  # requests that got one).
  [[ -s "$request_log" ]] || return 0
  local p50 p90 p99
  read -r p50 p90 p99 <<<"$(awk -F'\t' '$2 > 0 { print $3 }' "$request_log" | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) exit
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
      i90 = int(NR * 0.90); if (i90 < 1) i90 = 1
      i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
      print v[i50], v[i90], v[i99] }')"
  result["$k/p50_us"]="$p50"
  result["$k/p90_us"]="$p90"
  result["$k/p99_us"]="$p99"
}

run_measured_tool() {
  local path="$1" load="$2" url="$3" out="$4" request_log="$work_dir/$1-$2.requests"
  run_h2load "$load" "$seconds" "$url" "$out" "$request_log" || true
  parse_h2load "$path" "$load" "$out" "$request_log"
  rm -f "$request_log" # can be tens of MB; the summary is in $out
}

warm_up() { # url
  ((warmup_seconds > 0)) || return 0
  run_h2load 16x10 "$warmup_seconds" "$1" "$work_dir/warmup.out" || true
}

load_label() {
  local streams="${1#*x}"
  echo "${1%x*} conn × $streams stream$([[ "$streams" == 1 ]] || echo s)"
}

# ---------------------------------------------------------------------------------------------
# Report

print_header() {
  echo "## HTTP/2 (h2c) proxies on loopback — $(date -u +%Y-%m-%d)"
  echo
  machine_line
  echo "Loads: $(h2load --version | awk '{ print $2 }' | sed 's|nghttp2/|h2load (nghttp2 |;s|$|)|')" \
    "-t1, h2c prior knowledge, ${seconds} s at $levels (connections × concurrent streams per" \
    "connection). Backend: nginx $(nginx -v 2>&1 | sed 's|.*/||'), 1 worker, a fixed 6-byte body," \
    "h2c and HTTP/1.1 ports. Peers: $(haproxy -v | head -n 1 | awk '{ print "haproxy", $3 }')," \
    "nginx reverse proxy, mesh-proxy $(git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo '?')" \
    "(release build); one worker each, upstream keep-alive, no access logs."
  echo
  echo "Upstream protocol: mesh-proxy and haproxy speak h2c to the backend; mesh-proxy-h1," \
    "haproxy-h1 and nginx speak HTTP/1.1 keep-alive (nginx cannot proxy to an HTTP/2 upstream, so" \
    "its row compares the HTTP/2 downstream side only)."
  echo
}

print_load_table() {
  local path load k
  echo "| path | load | req/s | mean ± sd | p50 | p90 | p99 | max | errors | proxy CPU µs/req | proxy CPU % | backend CPU µs/req |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for path in $peers; do
    measured "$path" || [[ "${status[$path]:-}" == stopped* ]] || continue
    for load in "${loads[@]}"; do
      k="$path/$load"
      [[ -n "${result["$k/rps"]:-}" ]] || continue
      echo "| $path | $(load_label "$load") | $(fmt_int "${result["$k/rps"]}") |" \
        "$(fmt_us "${result["$k/mean_us"]:-}") ± $(fmt_us "${result["$k/sd_us"]:-}") |" \
        "$(fmt_us "${result["$k/p50_us"]:-}") | $(fmt_us "${result["$k/p90_us"]:-}") |" \
        "$(fmt_us "${result["$k/p99_us"]:-}") | $(fmt_us "${result["$k/max_us"]:-}") |" \
        "${result["$k/errors"]:-–} | $(fmt_num "${result["$k/proxy_us"]:-}") |" \
        "$(fmt_int "${result["$k/proxy_busy"]:-}") | $(fmt_num "${result["$k/backend_us"]:-}") |"
    done
  done
  echo
}

# The runs with errors, with h2load's counts, so that a failure is never only a number.
print_errors() {
  local path load k any=0
  for path in $peers; do
    for load in "${loads[@]}"; do
      k="$path/$load"
      [[ "${result["$k/errors"]:-0}" != 0 ]] || continue
      ((any == 1)) || echo "Runs with errors (h2load's counts):"
      any=1
      echo "- $path, $(load_label "$load"): ${result["$k/summary"]}"
    done
  done
  ((any == 0)) || echo
}

# mesh-proxy against haproxy with the same upstream protocol and against nginx (whose upstream is
# always HTTP/1.1), CPU per request first.
print_ratio_table() {
  local mesh haproxy_peer load m h n any=0
  echo "| mesh-proxy path | load | CPU/req vs haproxy | CPU/req vs nginx | req/s vs haproxy |" \
    "req/s vs nginx | added p50 mesh-proxy | added p50 haproxy | added p50 nginx |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for mesh in mesh-proxy mesh-proxy-h1; do
    measured "$mesh" || continue
    any=1
    haproxy_peer=haproxy
    [[ "$mesh" == mesh-proxy ]] || haproxy_peer=haproxy-h1
    for load in "${loads[@]}"; do
      m="$mesh/$load" h="$haproxy_peer/$load" n="nginx/$load"
      echo "| $mesh (vs $haproxy_peer) | $(load_label "$load") |" \
        "$(ratio_if "$haproxy_peer" "${result["$m/proxy_us"]:-}" "${result["$h/proxy_us"]:-}") |" \
        "$(ratio_if nginx "${result["$m/proxy_us"]:-}" "${result["$n/proxy_us"]:-}") |" \
        "$(ratio_if "$haproxy_peer" "${result["$m/rps"]:-}" "${result["$h/rps"]:-}") |" \
        "$(ratio_if nginx "${result["$m/rps"]:-}" "${result["$n/rps"]:-}") |" \
        "$(added_if "$mesh" "$load") | $(added_if "$haproxy_peer" "$load") | $(added_if nginx "$load") |"
    done
  done
  echo
  if ((any == 0)); then
    echo "No mesh-proxy ratios: mesh-proxy was not measured."
    echo
  fi
}

print_report() {
  print_header
  print_load_table
  print_errors
  print_unavailable
  print_memory_table
  print_ratio_table
  echo "Latency: mean ± sd from h2load's \"time for request\"; p50/p90/p99 from its per-request log" \
    "(--log-file), max from its summary. Errors: failed requests (reset, timed out, connection" \
    "lost) plus non-2xx responses."
  print_accounting_note
}

# ---------------------------------------------------------------------------------------------

main() {
  check_settings
  require_tools h2load haproxy nginx
  choose_cpus
  begin_run
  read -r backend_port backend_h2_port proxy_port admin_port <<<"$(free_ports 4)"
  log "peers: $peers; about $((($(wc -w <<<"$levels") * seconds + warmup_seconds) * $(wc -w <<<"$peers"))) s" \
    "of load; proxy on CPU $proxy_cpus, backend on CPU $backend_cpus, load on CPU $load_cpus"
  start_backend
  local path
  for path in $peers; do
    measure_path "$path" "http://127.0.0.1:$backend_h2_port/"
  done
  print_report
}

main "$@"
