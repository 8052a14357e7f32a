#!/usr/bin/env bash
# End-to-end test runner.
#
#   test/run_e2e.sh <server-binary> [filter]
#
# Runs every test/e2e/*_test.py (as `python3 FILE BINARY`) and every test/e2e/*.sh (as
# `bash FILE BINARY`), one at a time, from the repository root. With a filter, only the tests
# whose file name contains it run (e.g. `concurrency`). Prints PASS/FAIL per test with its
# duration, the output of each failed test, and a closing line `e2e: N passed, M failed`;
# exits 1 if anything failed (or if no test matched the filter).
#
# Environment:
#   E2E_TIMEOUT   seconds allowed per test (default 120; sanitizer builds: raise it)
#   E2E_VERBOSE=1 print every test's output, not only failures'
#   E2E_KEEP_LOGS=1 keep the per-test logs directory
#
# Sanitizer builds: every process started by a test inherits ASAN_OPTIONS / UBSAN_OPTIONS /
# TSAN_OPTIONS with a log_path in a scratch directory, so a report from a server that a test
# started (and then stopped, which is where leak reports appear) is not lost with the
# server's temp dir: any report found there fails the test that produced it.
#
# Cleanup: each test runs with RD_E2E_TAG=<unique> in its environment. Servers started by
# the tests inherit it; after the test, any process still carrying the tag (e.g. a server
# left behind by a test killed on timeout) is killed by its pid.

set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 <server-binary> [filter]" >&2
  exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINARY="$1"
FILTER="${2:-}"
if [ -f "$BINARY" ]; then
  BINARY="$(cd "$(dirname "$BINARY")" && pwd)/$(basename "$BINARY")"
fi
if [ ! -x "$BINARY" ]; then
  echo "run_e2e: server binary '$1' not found or not executable" >&2
  exit 2
fi
TIMEOUT="${E2E_TIMEOUT:-120}"

cd "$ROOT"

tests=()
for f in test/e2e/*_test.py test/e2e/*.sh; do
  [ -f "$f" ] || continue
  name="$(basename "$f")"
  if [ -n "$FILTER" ] && [[ "$name" != *"$FILTER"* ]]; then continue; fi
  tests+=("$f")
done

if [ ${#tests[@]} -eq 0 ]; then
  echo "run_e2e: no test matches '${FILTER}' in test/e2e/" >&2
  exit 1
fi

LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/rd-e2e.XXXXXX")"
SANDIR="$LOGDIR/sanitizer"
mkdir -p "$SANDIR"
cleanup() {
  if [ "${E2E_KEEP_LOGS:-0}" = 1 ]; then
    echo "run_e2e: logs kept in $LOGDIR"
  else
    rm -rf "$LOGDIR"
  fi
}
trap cleanup EXIT

# Appends log_path to a sanitizer options variable (keeping what the caller set).
with_log_path() {
  local current="$1" prefix="$2"
  if [ -n "$current" ]; then
    printf '%s:log_path=%s' "$current" "$SANDIR/$prefix"
  else
    printf 'log_path=%s' "$SANDIR/$prefix"
  fi
}
export ASAN_OPTIONS="$(with_log_path "${ASAN_OPTIONS:-}" asan)"
export UBSAN_OPTIONS="$(with_log_path "${UBSAN_OPTIONS:-}" ubsan)"
export TSAN_OPTIONS="$(with_log_path "${TSAN_OPTIONS:-}" tsan)"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONUNBUFFERED=1

# Kills (by pid) every process that still carries this test's tag in its environment.
kill_tagged() {
  local tag="$1" pid killed=0
  for env in /proc/[0-9]*/environ; do
    pid="${env#/proc/}"
    pid="${pid%/environ}"
    [ "$pid" = "$$" ] && continue
    if grep -qzx "RD_E2E_TAG=$tag" "$env" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    fi
  done
  [ "$killed" -gt 0 ] && echo "    (killed $killed leftover process(es) of this test)"
  return 0
}

passed=0
failed=0
failed_names=()
suite_start=$(date +%s.%N)
echo "run_e2e: ${#tests[@]} test(s), binary $BINARY, timeout ${TIMEOUT}s each"

for f in "${tests[@]}"; do
  name="$(basename "$f")"
  log="$LOGDIR/$name.log"
  tag="$$-$name-$RANDOM"
  case "$f" in
    *.py) runner=(python3 "$f" "$BINARY") ;;
    *) runner=(bash "$f" "$BINARY") ;;
  esac
  start=$(date +%s.%N)
  RD_E2E_TAG="$tag" timeout -k 10 "$TIMEOUT" "${runner[@]}" </dev/null >"$log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  duration=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  kill_tagged "$tag" >>"$log"

  reason=""
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    reason="timed out after ${TIMEOUT}s"
  elif [ $rc -ne 0 ]; then
    reason="exit code $rc"
  fi
  reports=$(ls "$SANDIR" 2>/dev/null)
  if [ -n "$reports" ]; then
    reason="${reason:+$reason, }sanitizer report"
    {
      echo "---- sanitizer reports ----"
      for r in "$SANDIR"/*; do echo "== $r"; cat "$r"; done
    } >>"$log"
    mkdir -p "$LOGDIR/reports-$name"
    mv "$SANDIR"/* "$LOGDIR/reports-$name/"
  fi

  if [ -z "$reason" ]; then
    passed=$((passed + 1))
    printf 'PASS  %-32s %7ss\n' "$name" "$duration"
    if [ "${E2E_VERBOSE:-0}" = 1 ]; then sed 's/^/    /' "$log"; fi
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    printf 'FAIL  %-32s %7ss  (%s)\n' "$name" "$duration" "$reason"
    echo "---- output of $name (last 200 lines) ----"
    tail -n 200 "$log" | sed 's/^/    /'
    echo "---- end of $name ----"
  fi
done

suite_end=$(date +%s.%N)
total=$(awk -v a="$suite_start" -v b="$suite_end" 'BEGIN { printf "%.1f", b - a }')
echo
if [ $failed -gt 0 ]; then
  echo "run_e2e: failed: ${failed_names[*]}"
fi
echo "run_e2e: total ${total}s"
echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ]
