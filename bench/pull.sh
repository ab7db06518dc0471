#!/usr/bin/env bash
# Pulls against rsync (issue 15, item 2): the first pull of corpus B (100,000 files of 0-8 KiB in
# 1,000 directories, bench/corpus.py) onto a new device, and the pull after a 1% change, for hx
# (durable: every file fdatasync'ed, every directory fsynced) against `rsync -a` (not durable)
# and `rsync -a --fsync` (an fsync per file), in the same run, on the same file system.
#
#   bench/pull.sh [--corpus B|A] [--scale F] [--runs N] [--fsync-runs N] [--hx-before BIN] [--perf]
#                 [--out DIR]
#
#   --corpus  B (default: 100,000 small files) or A (10,013 files, 1 GiB)
#   --scale   the corpus's scale (default 1; 0.1: a tenth of the files)
#   --runs    runs of each timed command (default 2); each first pull starts from an empty folder
#   --fsync-runs  first pulls of rsync -a --fsync among them (default: all; on a busy disk one takes
#             minutes at 100,000 files)
#   --one-percent-runs N  runs whose devices also take the 1% pull (default: all); the others' folders
#             are deleted right after their first pull (corpus A: 1 GiB a folder)
#   --hx-before  also time this hx binary (tool "hx-before", its own store made by it) in the same
#             runs: a before/after comparison on the same machine, in the same run
#   --perf    also record `perf record -g` of one hx first pull (perf.data and a report in --out)
#   --out     where the measurements go (default build/bench/pull)
# Environment: HX_BIN (default build/release/src/cli/hx, else build/gcc/src/cli/hx), HX_BENCH_DIR
# (default /tmp/hx-bench-pull; wiped at start). `sync` runs before every timed command, so no tool
# pays for another's writes.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
. bench/timing.sh
repo=$(pwd)
corpus=B scale=1 runs=2 fsync_runs="" pct_runs="" perf=0 hx_before="" out="$repo/build/bench/pull"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --corpus) corpus="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    --hx-before) hx_before="$2"; shift 2 ;;
    --one-percent-runs) pct_runs="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --fsync-runs) fsync_runs="$2"; shift 2 ;;
    --perf) perf=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) print_help ;;
    *) unknown_option "$1" ;;
  esac
done
fsync_runs="${fsync_runs:-$runs}"
pct_runs="${pct_runs:-$runs}"
[[ "$corpus" == A || "$corpus" == B ]] || usage_error "--corpus A or B"
. bench/hx_bin.sh
[[ -z "$hx_before" ]] || require_hx_at "$hx_before"
bench_work_dir /tmp/hx-bench-pull
tools=(hx rsync rsync-fsync)
[[ -n "$hx_before" ]] && tools=(hx-before hx rsync rsync-fsync)
# The generated corpus is kept between runs of the same corpus and scale ($work/corpus-<C>-<scale>);
# the rest is wiped.
cname="corpus-$corpus-$scale"
mkdir -p "$work" "$out"
find "$work" -mindepth 1 -maxdepth 1 ! -name "$cname" -exec rm -rf {} +
export HX_PASSPHRASE="hx-bench-passphrase"
raw="$out/pull.tsv"
printf 'phase\ttool\trun\twall_s\tuser_s\tsys_s\tmax_rss_kib\n' >"$raw"

timed() { timed_row "$raw" "$1 $2 run $3" 3 "$@"; }  # timed PHASE TOOL RUN CMD...

src="$work/$cname/src"
if [[ ! -e "$work/$cname/done" ]]; then
  log "corpus $corpus at scale $scale"
  rm -rf "$work/$cname"
  python3 bench/corpus.py gen "$corpus" "$src" --seed 1 --scale "$scale" >/dev/null
  touch "$work/$cname/done"
fi
cp -a "$src" "$work/vault"
"$hx" sync init "$work/vault" "$work/store" >/dev/null
"$hx" sync push "$work/vault" >/dev/null
if [[ -n "$hx_before" ]]; then  # its own vault and store, so each binary pulls what it pushed
  cp -a "$src" "$work/vault-before"
  "$hx_before" sync init "$work/vault-before" "$work/store-before" >/dev/null
  "$hx_before" sync push "$work/vault-before" >/dev/null
fi
mkdir -p "$work/rsync-src" && rsync -a "$src/" "$work/rsync-src/"
sync

for ((r = 1; r <= runs; r++)); do
  for tool in "${tools[@]}"; do
    dir="$work/pull-$tool-$r"
    rm -rf "$dir" && mkdir -p "$dir"
    case $tool in
      hx) "$hx" sync init "$dir" "$work/store" >/dev/null
          timed first hx "$r" "$hx" sync pull "$dir" ;;
      hx-before) "$hx_before" sync init "$dir" "$work/store-before" >/dev/null
          timed first hx-before "$r" "$hx_before" sync pull "$dir" ;;
      rsync) timed first rsync "$r" rsync -a "$work/rsync-src/" "$dir/" ;;
      rsync-fsync) if ((r <= fsync_runs)); then
                     timed first rsync-fsync "$r" rsync -a --fsync "$work/rsync-src/" "$dir/"
                   else rsync -a "$work/rsync-src/" "$dir/"; fi ;;
    esac
    ((r <= pct_runs)) || rm -rf "$dir"
  done
done

if [[ $perf == 1 ]]; then
  dir="$work/pull-perf"
  mkdir -p "$dir" && "$hx" sync init "$dir" "$work/store" >/dev/null
  sync
  perf record -g -o "$out/perf.data" -- "$hx" sync pull "$dir" >/dev/null 2>&1
  # (head closes the pipe early: not a failure)
  { perf report -i "$out/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null || true; } \
    | head -80 >"$out/perf-self.txt" || true
  { perf report -i "$out/perf.data" --children --sort symbol --stdio 2>/dev/null || true; } \
    | grep -E '^ +[0-9]' | head -60 >"$out/perf-children.txt" || true
  log "perf: $out/perf-self.txt, $out/perf-children.txt"
fi

log "a 1% change, pushed"
python3 bench/corpus.py mutate "$work/vault" --seed 1 --run 1 --fraction 0.01 --exclude .hx >/dev/null
"$hx" sync push "$work/vault" >/dev/null
if [[ -n "$hx_before" ]]; then
  python3 bench/corpus.py mutate "$work/vault-before" --seed 1 --run 1 --fraction 0.01 --exclude .hx >/dev/null
  "$hx_before" sync push "$work/vault-before" >/dev/null
fi
rsync -a --exclude .hx "$work/vault/" "$work/rsync-src/"
sync
for ((r = 1; r <= pct_runs; r++)); do
  for tool in "${tools[@]}"; do
    dir="$work/pull-$tool-$r"
    case $tool in
      hx) timed one_percent hx "$r" "$hx" sync pull "$dir" ;;
      hx-before) timed one_percent hx-before "$r" "$hx_before" sync pull "$dir" ;;
      rsync) timed one_percent rsync "$r" rsync -a "$work/rsync-src/" "$dir/" ;;
      rsync-fsync) timed one_percent rsync-fsync "$r" rsync -a --fsync "$work/rsync-src/" "$dir/" ;;
    esac
  done
done
diff -r -q --exclude=.hx "$work/pull-hx-1" "$work/pull-rsync-1" >&2 && log "check: hx and rsync pulls identical"

python3 - "$raw" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
def walls(phase, t):
    return sorted(float(r['wall_s']) for r in rows if r['phase'] == phase and r['tool'] == t)
for phase in ('first', 'one_percent'):
    med = {t: statistics.median(walls(phase, t) or [float('nan')])
           for t in ('hx-before', 'hx', 'rsync', 'rsync-fsync')}
    spread = {t: (f"{walls(phase, t)[0]:.2f}-{walls(phase, t)[-1]:.2f}" if walls(phase, t) else "-")
              for t in med}
    line = (f"{phase}: hx {med['hx']:.2f} s [{spread['hx']}], rsync -a {med['rsync']:.2f} s "
            f"[{spread['rsync']}] ({med['hx'] / med['rsync']:.2f}x), rsync -a --fsync "
            f"{med['rsync-fsync']:.2f} s [{spread['rsync-fsync']}] ({med['hx'] / med['rsync-fsync']:.2f}x)")
    if walls(phase, 'hx-before'):
        line += (f"; hx before {med['hx-before']:.2f} s [{spread['hx-before']}] "
                 f"({med['hx-before'] / med['rsync']:.2f}x rsync -a; after/before {med['hx'] / med['hx-before']:.2f})")
    print(line)
EOF
