#!/usr/bin/env bash
# The test command: installs what is missing, builds every flavour and runs
# every test. Exits non-zero on the first failure.
#   scripts/test.sh                 everything CI runs (gcc, clang+ASan+UBSan, clang+TSan, fuzz smoke)
#   HX_TEST_FLAVOURS="gcc" scripts/test.sh    only some flavours
#   HX_FUZZ_SECONDS=5               seconds per fuzz target in the smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

flavours="${HX_TEST_FLAVOURS:-gcc asan tsan fuzz}"
jobs=$(nproc)
# TSan checks the code that runs threads: the stores (wrappers, races, the
# S3 store's handle pool and parallel multipart), the scanner's pool, the
# sync engine's sealing and upload workers (over folders and S3), and the
# CLI end to end.
tsan_binaries="hx_store_test hx_scan_test hx_sync_test hx_sync_crash_test hx_s3_test hx_s3_large_test hx_s3_cli_test hx_sync_s3_test"
for flavour in $flavours; do
  echo "=== $flavour ==="
  start=$(date +%s)
  targets=()
  labels=()
  if [[ "$flavour" == "tsan" ]]; then
    targets=($tsan_binaries hx)
    labels=(-L "^($(echo $tsan_binaries | tr ' ' '|'))\$")
  fi
  scripts/build.sh "$flavour" "${targets[@]}"
  if [[ "$flavour" == "fuzz" ]]; then
    scripts/fuzz.sh "${HX_FUZZ_SECONDS:-5}" --no-build
  else
    # The convergence property runs its full 1,000 histories in the gcc flavour; under the
    # sanitizers (5-15x slower) a fifth of them walk the same code for memory and race errors.
    histories=1000
    [[ "$flavour" == "gcc" ]] || histories=200
    # halt_on_error keeps sanitizer findings fatal; the suppression-free run is the point.
    HX_CONVERGENCE_HISTORIES="${HX_CONVERGENCE_HISTORIES:-$histories}" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --test-dir "build/$flavour" --output-on-failure -j "$jobs" --no-tests=error "${labels[@]}"
  fi
  echo "=== $flavour passed in $(( $(date +%s) - start )) s ==="
done
echo "all tests passed ($flavours)"
