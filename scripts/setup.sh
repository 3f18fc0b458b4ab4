#!/usr/bin/env bash
# Installs everything the build and the tests need on Debian bookworm: apt packages and the pinned
# npm packages. Idempotent: it checks first and installs only what is missing, so it is cheap to run
# before every build. Works as root or as a user with sudo; never prompts (CI has no stdin).
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Build toolchain and libraries (DESIGN.md §8), then the real peers the tests and benchmarks use.
apt_packages=(
  build-essential cmake ninja-build pkg-config ccache git
  clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev libnghttp2-dev libboost-dev libyaml-cpp-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libre2-dev libcli11-dev libc-ares-dev
  libgtest-dev libgmock-dev libbenchmark-dev node-llhttp
  curl wrk nghttp2-client haproxy nginx-light prometheus
  python3 procps iproute2 iptables util-linux
)

# Node.js may already come from another source (its own npm included); only ask apt when absent.
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

log() { printf 'setup: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n true 2>/dev/null || log "sudo may ask for your password to install packages"
    sudo "$@"
  else
    log "need root or sudo to install: $*" >&2
    exit 1
  fi
}

missing_apt_packages() {
  local pkg status
  for pkg in "${apt_packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || printf '%s\n' "$pkg"
  done
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "apt packages present"
    return
  fi
  log "installing apt packages: ${missing[*]}"
  # Servers such as nginx and haproxy would otherwise be started by their package scripts and keep
  # running on the host; tests start their own copies with their own configs.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
  if [ "$rc" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" || rc=$?
  fi
  [ "$added_policy" -eq 1 ] && as_root rm -f "$policy"
  return "$rc"
}

# npm packages are pinned in package.json + package-lock.json; reinstall only when the lock changed.
install_npm_packages() {
  local stamp="$root_dir/node_modules/.meshd-lock.sha256"
  local want
  want="$(sha256sum "$root_dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "npm packages present"
    return
  fi
  log "installing npm packages from package-lock.json"
  (cd "$root_dir" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$want" >"$stamp"
}

install_apt_packages
install_npm_packages
