# Sourced by the bench scripts (from the repository's root) that measure hx: sets $hx to the hx
# binary to measure: $HX_BIN, else build/release/src/cli/hx, else build/gcc/src/cli/hx
# (RelWithDebInfo: the reports say which); exits if none. Also defines
#   require_hx_at BIN   exits unless BIN (a second hx to time, e.g. --hx-before) can be run.
hx=${HX_BIN:-}
if [ -z "$hx" ]; then
  for c in build/release/src/cli/hx build/gcc/src/cli/hx; do [ -x "$c" ] && { hx=$PWD/$c; break; }; done
fi
[ -x "$hx" ] || { echo "no hx binary: run scripts/build.sh release hx (or set HX_BIN)" >&2; exit 1; }
require_hx_at() { [ -x "$1" ] || { echo "no hx binary at $1" >&2; exit 1; }; }
