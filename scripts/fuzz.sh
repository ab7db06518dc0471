#!/usr/bin/env bash
# Runs every libFuzzer target for N seconds (default 60) on a copy of its
# committed seed corpus (src/<module>/fuzz_corpus/<target>/). Findings are
# written to build/fuzz/findings/ and make the script fail.
#   scripts/fuzz.sh [seconds] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[[ "${2:-}" == "--no-build" ]] || { scripts/deps.sh; scripts/build.sh fuzz; }
list=build/fuzz/HX_FUZZ_TARGETS.txt
[[ -s "$list" ]] || { echo "fuzz: no targets in $list" >&2; exit 1; }
mkdir -p build/fuzz/findings
status=0
while read -r name srcdir; do
  bin=$(find build/fuzz -type f -name "$name" -perm -u+x | head -1)
  work="build/fuzz/corpus/$name"
  mkdir -p "$work"
  [[ -d "$srcdir/fuzz_corpus/$name" ]] && cp -n "$srcdir/fuzz_corpus/$name"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="build/fuzz/findings/$name-" \
        "$work" >"build/fuzz/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; see build/fuzz/$name.log and build/fuzz/findings/" >&2
    tail -30 "build/fuzz/$name.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units" "build/fuzz/$name.log" | sed "s/^/  /"
  fi
done <"$list"
exit $status
