#!/usr/bin/env bash
# Builds and runs every test: the ASan+UBSan build (unit, integration, end-to-end and fuzz tests)
# and the ThreadSanitizer build of the concurrency-heavy core tests. Prints one summary line last:
# "tests: N passed, N failed". Exit status is non-zero when anything failed.
set -uo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root_dir"
jobs="$(nproc)"
passed=0
failed=0

# Runs ctest with the given arguments in a build directory and adds its counts to the totals.
run_ctest() {
  local dir="$1"
  shift
  local log
  log="$(mktemp)"
  (cd "$dir" && ctest --output-on-failure --timeout 600 "$@") 2>&1 | tee "$log"
  local summary total failures
  summary="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
  local none
  none="$(grep -c 'No tests were found' "$log")"
  rm -f "$log"
  if [ -z "$summary" ] && [ "$none" -gt 0 ]; then
    return
  fi
  if [ -z "$summary" ]; then
    echo "test.sh: no ctest summary from $dir" >&2
    failed=$((failed + 1))
    return
  fi
  failures="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")"
  total="$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")"
  passed=$((passed + total - failures))
  failed=$((failed + failures))
}

build() {
  local preset="$1"
  shift
  cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j "$jobs" "$@"
}

echo "== ThreadSanitizer: core concurrency tests"
if build tsan --target core_tests; then
  run_ctest build/tsan -j "$jobs" -R '^core_tests\.'
else
  echo "test.sh: the tsan build failed" >&2
  failed=$((failed + 1))
fi

echo "== ASan+UBSan: unit, integration, e2e and fuzz tests"
if build debug; then
  # Unit tests in parallel; integration, end-to-end (label e2e, root only) and fuzz tests one at a
  # time (they load the machine).
  run_ctest build/debug -j "$jobs" -L unit
  run_ctest build/debug -LE unit
else
  echo "test.sh: the debug build failed" >&2
  failed=$((failed + 1))
fi

echo "tests: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
