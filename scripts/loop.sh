#!/usr/bin/env bash
# The flakiness loop: runs the suites that start processes, wait, or use the
# network or threads N times in a row (ctest --repeat until-fail:N) while a
# competing load keeps both cores busy, so a test that depends on timing
# fails here rather than in CI.
#   scripts/loop.sh [N=10] [flavour=gcc]
#   HX_LOOP_LABELS='hx_s3_test|...'   the ctest label regex (default below)
#   HX_LOOP_LOAD=0                    no competing load
# Exits non-zero on the first failing repetition and prints which test.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10}"
flavour="${2:-gcc}"
labels="${HX_LOOP_LABELS:-^(hx_s3_test|hx_s3_cli_test|hx_fault_proxy_test|hx_sync_s3_test|hx_sync_crash_test|hx_sync_test|hx_sync_fault_test|hx_os_test|hx_store_test|hx_scan_test)\$}"
scripts/build.sh "$flavour" >/dev/null

load_pids=()
stop_load() { for p in "${load_pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_load EXIT
if [[ "${HX_LOOP_LOAD:-1}" != 0 ]]; then
  # One busy loop per core: the tests share the machine with a competitor,
  # as they do in CI when another build runs.
  for _ in $(seq "$(nproc)"); do
    ( while :; do :; done ) &
    load_pids+=($!)
  done
fi
start=$(date +%s)
ctest --test-dir "build/$flavour" --output-on-failure -j "$(nproc)" --no-tests=error \
  -L "$labels" --repeat "until-fail:$n"
echo "loop: $n repetitions of -L '$labels' passed under load in $(( $(date +%s) - start )) s"
