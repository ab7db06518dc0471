#!/usr/bin/env bash
# The first push of corpus A (10,013 files, 1 GiB: bench/corpus.py) into an empty folder store against
# `rsync -a` into an empty folder (issue 15, item 3: target hx at most 0.6x rsync's time), with an
# optional second hx binary timed in the same runs (before/after on the same machine, in one run).
# Not part of the tests.
#
#   bench/push_first.sh [--runs N] [--scale F] [--hx-before BIN] [--perf] [--out DIR]
#
#   --runs       runs of each timed command, interleaved (default 3); medians and spread reported
#   --scale      corpus A's scale (default 1)
#   --hx-before  also time this hx binary (tool "hx-before")
#   --perf       also record `perf record -g` of one more hx first push (perf.data and reports in --out)
#   --out        where the measurements go (default build/bench/push_first)
# Environment: HX_BIN (default build/release/src/cli/hx, else build/gcc/src/cli/hx), HX_BENCH_DIR
# (default /tmp/hx-bench-push; wiped at start, the corpus kept between runs of the same scale).
# `sync` runs before every timed command, so no tool pays for another's writes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
. bench/timing.sh
repo=$(pwd)
runs=3 scale=1 perf=0 hx_before="" out="$repo/build/bench/push_first"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    --hx-before) hx_before="$2"; shift 2 ;;
    --perf) perf=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) print_help ;;
    *) unknown_option "$1" ;;
  esac
done
. bench/hx_bin.sh
[[ -z "$hx_before" ]] || require_hx_at "$hx_before"
bench_work_dir /tmp/hx-bench-push
cname="corpus-A-$scale"
mkdir -p "$work" "$out"
find "$work" -mindepth 1 -maxdepth 1 ! -name "$cname" -exec rm -rf {} +
export HX_PASSPHRASE="hx-bench-passphrase"
raw="$out/push_first.tsv"
printf 'tool\trun\twall_s\tuser_s\tsys_s\tmax_rss_kib\n' >"$raw"

src="$work/$cname/src"
if [[ ! -e "$work/$cname/done" ]]; then
  log "corpus A at scale $scale"
  rm -rf "$work/$cname"
  python3 bench/corpus.py gen A "$src" --seed 1 --scale "$scale" >/dev/null
  touch "$work/$cname/done"
fi
tools=(hx rsync)
[[ -n "$hx_before" ]] && tools=(hx-before hx rsync)

timed() { timed_row "$raw" "first push $1 run $2" 2 "$@"; }  # timed TOOL RUN CMD...

# Each hx run: the corpus is the vault itself (hx sync init writes only .hx/ into it), pushed into a
# new empty folder store; its .hx/ is removed after.
push_once() {  # push_once TOOL BIN RUN
  local tool=$1 bin=$2 run=$3
  rm -rf "$src/.hx" "$work/store"
  "$bin" sync init "$src" "$work/store" >/dev/null
  sleep 3  # hx re-reads files whose mtime is within 2 s of a scan (bench/README.md)
  timed "$tool" "$run" "$bin" sync push "$src"
  rm -rf "$src/.hx" "$work/store"
}
for ((r = 1; r <= runs; r++)); do
  for tool in "${tools[@]}"; do
    case $tool in
      hx) push_once hx "$hx" "$r" ;;
      hx-before) push_once hx-before "$hx_before" "$r" ;;
      rsync) rm -rf "$work/rsync-dst"; timed rsync "$r" rsync -a "$src/" "$work/rsync-dst/"
             rm -rf "$work/rsync-dst" ;;
    esac
  done
done

if [[ $perf == 1 ]]; then
  rm -rf "$src/.hx" "$work/store"
  "$hx" sync init "$src" "$work/store" >/dev/null
  sleep 3
  sync
  perf record -F 999 -g -o "$out/perf.data" -- "$hx" sync push "$src" >/dev/null 2>&1
  { perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null || true; } \
    | head -80 >"$out/perf-self.txt" || true
  { perf report -i "$out/perf.data" --children --sort symbol --stdio 2>/dev/null || true; } \
    | grep -E '^ +[0-9]' | head -60 >"$out/perf-children.txt" || true
  rm -rf "$src/.hx" "$work/store"
  log "perf: $out/perf-self.txt, $out/perf-children.txt"
fi

python3 - "$raw" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
def col(t, k):
    return sorted(float(r[k]) for r in rows if r['tool'] == t)
med = {t: statistics.median(col(t, 'wall_s')) for t in ('hx-before', 'hx', 'rsync') if col(t, 'wall_s')}
for t in med:
    cpu = statistics.median([float(r['user_s']) + float(r['sys_s']) for r in rows if r['tool'] == t])
    w = col(t, 'wall_s')
    print(f"{t}: wall median {med[t]:.2f} s [{w[0]:.2f}-{w[-1]:.2f}], cpu median {cpu:.2f} s, "
          f"{med[t] / med['rsync']:.2f}x rsync -a")
EOF
