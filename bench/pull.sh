#!/usr/bin/env bash
# Pulls against rsync (issue 15, item 2): the first pull of corpus B (100,000 files of 0-8 KiB in
# 1,000 directories, bench/corpus.py) onto a new device, and the pull after a 1% change, for hx
# (durable: every file fdatasync'ed, every directory fsynced) against `rsync -a` (not durable)
# and `rsync -a --fsync` (an fsync per file), in the same run, on the same file system.
#
#   bench/pull.sh [--scale F] [--runs N] [--fsync-runs N] [--perf] [--out DIR]
#
#   --scale   corpus B's scale (default 1: 100,000 files; 0.1: 10,000)
#   --runs    runs of each timed command (default 2); each first pull starts from an empty folder
#   --fsync-runs  first pulls of rsync -a --fsync among them (default: all; on a busy disk one takes
#             minutes at 100,000 files)
#   --perf    also record `perf record -g` of one hx first pull (perf.data and a report in --out)
#   --out     where the measurements go (default build/bench/pull)
# Environment: HX_BIN (default build/release/src/cli/hx), HX_BENCH_DIR (default /tmp/hx-bench-pull;
# wiped at start). `sync` runs before every timed command, so no tool pays for another's writes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
scale=1 runs=2 fsync_runs="" perf=0 out="$repo/build/bench/pull"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --fsync-runs) fsync_runs="$2"; shift 2 ;;
    --perf) perf=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "pull.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
fsync_runs="${fsync_runs:-$runs}"
hx="${HX_BIN:-$repo/build/release/src/cli/hx}"
[[ -x "$hx" ]] || { echo "pull.sh: no hx at $hx (scripts/build.sh release hx, or HX_BIN=...)" >&2; exit 1; }
work="${HX_BENCH_DIR:-/tmp/hx-bench-pull}"
[[ "$work" == /* && "$work" != "/" ]] || { echo "pull.sh: HX_BENCH_DIR must be absolute" >&2; exit 2; }
# The generated corpus is kept between runs of the same scale ($work/corpus-<scale>); the rest is wiped.
mkdir -p "$work" "$out"
find "$work" -mindepth 1 -maxdepth 1 ! -name "corpus-$scale" -exec rm -rf {} +
export HX_PASSPHRASE="hx-bench-passphrase"
raw="$out/pull.tsv"
printf 'phase\ttool\trun\twall_s\tuser_s\tsys_s\tmax_rss_kib\n' >"$raw"

log() { printf '%s\n' "$*" >&2; }
timed() {  # timed PHASE TOOL RUN CMD...
  local phase=$1 tool=$2 run=$3
  shift 3
  sync
  local t0 t1 e u s m
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >"$work/out" 2>&1 || {
    tail -n 20 "$work/out" >&2; log "FAILED: $*"; exit 1; }
  t1=$(date +%s%N)
  read -r e u s m < <(tail -n 1 "$work/time")
  local wall
  wall=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$tool" "$run" "$wall" "$u" "$s" "$m" >>"$raw"
  log "  $phase $tool run $run: $wall s wall, $u user, $s sys, $((m / 1024)) MiB"
}

src="$work/corpus-$scale/src"
if [[ ! -e "$work/corpus-$scale/done" ]]; then
  log "corpus B at scale $scale"
  rm -rf "$work/corpus-$scale"
  python3 bench/corpus.py gen B "$src" --seed 1 --scale "$scale" >/dev/null
  touch "$work/corpus-$scale/done"
fi
cp -a "$src" "$work/vault"
"$hx" sync init "$work/vault" "$work/store" >/dev/null
"$hx" sync push "$work/vault" >/dev/null
mkdir -p "$work/rsync-src" && rsync -a "$src/" "$work/rsync-src/"
sync

for ((r = 1; r <= runs; r++)); do
  for tool in hx rsync rsync-fsync; do
    dir="$work/pull-$tool-$r"
    rm -rf "$dir" && mkdir -p "$dir"
    case $tool in
      hx) "$hx" sync init "$dir" "$work/store" >/dev/null
          timed first hx "$r" "$hx" sync pull "$dir" ;;
      rsync) timed first rsync "$r" rsync -a "$work/rsync-src/" "$dir/" ;;
      rsync-fsync) if ((r <= fsync_runs)); then
                     timed first rsync-fsync "$r" rsync -a --fsync "$work/rsync-src/" "$dir/"
                   else rsync -a "$work/rsync-src/" "$dir/"; fi ;;
    esac
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
rsync -a --exclude .hx "$work/vault/" "$work/rsync-src/"
sync
for ((r = 1; r <= runs; r++)); do
  for tool in hx rsync rsync-fsync; do
    dir="$work/pull-$tool-$r"
    case $tool in
      hx) timed one_percent hx "$r" "$hx" sync pull "$dir" ;;
      rsync) timed one_percent rsync "$r" rsync -a "$work/rsync-src/" "$dir/" ;;
      rsync-fsync) timed one_percent rsync-fsync "$r" rsync -a --fsync "$work/rsync-src/" "$dir/" ;;
    esac
  done
done
diff -r -q --exclude=.hx "$work/pull-hx-1" "$work/pull-rsync-1" >&2 && log "check: hx and rsync pulls identical"

python3 - "$raw" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
for phase in ('first', 'one_percent'):
    med = {t: statistics.median([float(r['wall_s']) for r in rows if r['phase'] == phase and r['tool'] == t]
                                or [float('nan')])
           for t in ('hx', 'rsync', 'rsync-fsync')}
    print(f"{phase}: hx {med['hx']:.2f} s, rsync -a {med['rsync']:.2f} s ({med['hx'] / med['rsync']:.2f}x), "
          f"rsync -a --fsync {med['rsync-fsync']:.2f} s ({med['hx'] / med['rsync-fsync']:.2f}x)")
EOF
