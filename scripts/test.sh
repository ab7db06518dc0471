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
for flavour in $flavours; do
  echo "=== $flavour ==="
  start=$(date +%s)
  scripts/build.sh "$flavour"
  if [[ "$flavour" == "fuzz" ]]; then
    scripts/fuzz.sh "${HX_FUZZ_SECONDS:-5}" --no-build
  else
    # halt_on_error keeps sanitizer findings fatal; the suppression-free run is the point.
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --test-dir "build/$flavour" --output-on-failure -j "$jobs" --no-tests=error
  fi
  echo "=== $flavour passed in $(( $(date +%s) - start )) s ==="
done
echo "all tests passed ($flavours)"
