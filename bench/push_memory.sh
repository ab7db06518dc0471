#!/usr/bin/env bash
# Peak RSS of push and status at scale (issue 15, item 1): a fresh vault of N small
# files (default 100,000 in directories of 100), a folder store, then each command
# under /usr/bin/time -f %M. Not part of the tests; results in docs/BENCHMARKS.md
# ("Memory"). The key is cached in .hx/key after init and HX_PASSPHRASE is unset
# for the measured commands: with it, every command also checks the passphrase
# (one Argon2id derivation, 64 MiB), which would hide the engine's figures.
#   ./bench/push_memory.sh [files]
# The hx binary: $HX_BIN, else build/release/src/cli/hx, else build/gcc/src/cli/hx.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100000}
hx=${HX_BIN:-}
if [ -z "$hx" ]; then
  for c in build/release/src/cli/hx build/gcc/src/cli/hx; do [ -x "$c" ] && { hx=$PWD/$c; break; }; done
fi
[ -x "$hx" ] || { echo "no hx binary: run scripts/build.sh release hx (or set HX_BIN)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/hx-push-memory-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp/home HX_PASSPHRASE="bench passphrase"
mkdir -p "$tmp/v" "$HOME"
python3 - "$tmp/v" "$files" <<'PY'
import os, sys
vault, files = sys.argv[1], int(sys.argv[2])
for i in range(files):
    d = os.path.join(vault, f"d{i // 100:04d}")
    if i % 100 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % 100:03d}.txt"), "wb") as f: f.write(b"file %d\n" % i)
PY
"$hx" sync init "$tmp/v" "$tmp/store" >/dev/null
unset HX_PASSPHRASE
sleep 2.2  # the files out of the stat cache's racy window
m() { /usr/bin/time -f "%M KB peak RSS, %e s wall, %U+%S s CPU" -o "$tmp/t" "$@" >/dev/null; cat "$tmp/t"; }
echo "hx: $hx; $files files"
echo "first push: $(m "$hx" sync push "$tmp/v")"
echo "no-change push (baseline): $(m "$hx" sync push "$tmp/v")"
rm -f "$tmp/v/.hx/baseline"; echo "no-change push (full comparison): $(m "$hx" sync push "$tmp/v")"
rm -f "$tmp/v/.hx/baseline"; echo "status (full comparison): $(m "$hx" sync status "$tmp/v")"
for ((i = 0; i < files; i += 100)); do printf 'changed %d\n' "$i" > "$tmp/v/$(printf 'd%04d' $((i / 100)))/f000.txt"; done
sleep 2.2
echo "push after a 1% edit: $(m "$hx" sync push "$tmp/v")"
# Another 1% (the second file of each directory), then status: the full comparison
# of every status after an edit (the baseline no longer matches).
for ((i = 1; i < files; i += 100)); do printf 'again %d\n' "$i" > "$tmp/v/$(printf 'd%04d' $((i / 100)))/f001.txt"; done
sleep 2.2
echo "status after a 1% edit: $(m "$hx" sync status "$tmp/v")"
