#!/usr/bin/env bash
# Scale benchmark (issue 15, item 4): hx against `rsync -a` (and `rsync -a --fsync` for pulls) on
# a generated vault of tiny files in 1,000 directories, through a folder store. Not part of the
# tests. See bench/README.md ("The scale benchmark").
#
#   bench/scale.sh [--files N] [--seed S] [--tools hx,rsync] [--fsync-first-max N] [--keep]
#                  [--out DIR] [--compare DIR]
#
#   --files    how many files (default 1,000,000; 100,000 for a quick run), 0-2 KiB each
#              (corpus S of bench/corpus.py), N/1000 in each of 1,000 directories
#   --tools    which tools to measure (default hx,rsync; rsync includes its --fsync pulls)
#   --fsync-first-max  run the first pull of `rsync -a --fsync` only up to this many files
#              (default 100,000: on this VM's disk each fsync costs ~4 ms, so 1,000,000 files would
#              take over an hour); its 1% pull is always run
#   --keep     leave the trees in the work dir (default: deleted at the end)
#   --out      where raw.tsv, meta.tsv and report.md go
#              (default bench/results/scale-<files>-<UTC time>)
#   --compare  a result dir of another size: growth.md compares the two (default: the newest
#              bench/results/scale-100000-* when --files is not 100,000)
# Environment: HX_BENCH_DIR (work dir, default /tmp/hx-bench-scale; wiped at start), HX_BIN (the
# hx binary; default build/release/src/cli/hx, else build/gcc/src/cli/hx).
#
# Phases, in this order (each timed command is preceded by `sync`):
#   push_first       hx sync push (an empty folder store)  | rsync -a vault/ rsync-push/
#   push_nochange    the same again, nothing changed
#   status_nochange  hx sync status                          | (none)
#   pull_first       hx sync pull (a second vault, joined)   | rsync -a push/ pull/, rsync -a --fsync push/ fsync/
#   push_change      after corpus.py mutate (1% of the files edited in place), push again
#   pull_change      the pull that brings that edit
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
repo=$(pwd)

files=1000000 seed=1 keep=0 tools="hx,rsync" out="" compare="" fsync_first_max=100000
command_line="bench/scale.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --files) files="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --tools) tools="$2"; shift 2 ;;
    --fsync-first-max) fsync_first_max="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --out) out="$2"; shift 2 ;;
    --compare) compare="$2"; shift 2 ;;
    -h|--help) print_help ;;
    *) unknown_option "$1" ;;
  esac
done
[[ "$files" =~ ^[1-9][0-9]*$ && $files -ge 1000 ]] || usage_error "--files takes an integer >= 1000"
parse_tools hx rsync
stamp=$(date -u +%Y%m%dT%H%M%SZ)
[[ -n "$out" ]] || out="$repo/bench/results/scale-$files-$stamp"

# ---- tools ---------------------------------------------------------------------------------
command -v rsync >/dev/null && [[ -x /usr/bin/time ]] || scripts/deps.sh bench
if has_tool hx; then . bench/hx_bin.sh; fi

# ---- work dir ------------------------------------------------------------------------------
bench_work_dir /tmp/hx-bench-scale
claim_work_dir .hx-bench-scale-workdir
# ext4 without a journal skips inodes freed in the last 60 s when it allocates new ones (see
# bench/README.md, "The sync benchmark"): timing starts at least 61 s after a big deletion.
deleted_at=$(cat "$work/.trees-deleted-at" 2>/dev/null || echo 0)
if [[ -d "$work/vault" ]]; then
  log "wiping $work (left by an earlier run)"
  find "$work" -mindepth 1 -maxdepth 1 ! -name .trees-deleted-at ! -name "$(basename "$marker")" -exec rm -rf {} +
  sync
  deleted_at=$(date +%s)
fi
mkdir -p "$work" "$out"
touch "$marker"
logs="$work/logs"
rm -rf "$logs"
mkdir -p "$logs"

# Space: five trees (vault, hx's pull, rsync's push, pull and --fsync pull) of one 4 KiB block and
# one inode per file, and hx's store (the bytes, compressed, in packs).
check_disk $((files * 4 * 5 + files * 2)) $((files * 5 + 10000))

export HX_PASSPHRASE="hx-bench-passphrase"
raw="$out/raw.tsv" meta="$out/meta.tsv"
printf 'tool\tphase\twall_s\tuser_s\tsys_s\tmaxrss_kib\tload1\n' >"$raw"
{
  machine_meta
  printf 'files\t%s\n' "$files"
  printf 'seed\t%s\n' "$seed"
  tool_versions_meta
} >"$meta"

# measure TOOL PHASE DIR CMD...: `sync`, then CMD under /usr/bin/time; one row of raw.tsv. CMD runs
# without HX_PASSPHRASE, as on a device that has its key (bench/timing.sh says why).
measure() {
  local tool=$1 phase=$2 dir=$3
  shift 3
  local logbase="$logs/$tool.$phase" load t0 t1 rc=0
  sync
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s%N)
  (cd "$dir" && exec /usr/bin/time -f '%e %U %S %M' -o "$logbase.time" env -u HX_PASSPHRASE "$@") >"$logbase.out" 2>"$logbase.err" || rc=$?
  t1=$(date +%s%N)
  if [[ $rc -ne 0 ]]; then
    log "FAILED (exit $rc): $tool $phase: (cd $dir && $*)"
    tail -n 20 "$logbase.err" "$logbase.out" >&2
    die "a measured command failed; logs in $logs"
  fi
  local e u s m wall
  read -r e u s m < <(tail -n 1 "$logbase.time")
  wall=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$phase" "$wall" "$u" "$s" "$m" "$load" >>"$raw"
  printf '  %-11s %-16s %9.2f s wall %8.2f s cpu %8.1f MiB rss (load %s)\n' "$tool" "$phase" "$wall" \
    "$(python3 -c "print($u + $s)")" "$(python3 -c "print($m / 1024)")" "$load" >&2
}
quiet() {
  local logbase="$logs/setup.$(date +%s%N)"
  "$@" >"$logbase.out" 2>"$logbase.err" || { tail -n 20 "$logbase.err" "$logbase.out" >&2; die "setup failed: $*"; }
}
# hx re-reads a file whose mtime or ctime is within 2 s of a scan (racy timestamps), so every
# timed command starts at least 3 s after the last write to the vault; and 61 s after a deletion.
settle() {
  local left=$((deleted_at + 61 - $(date +%s)))
  if [[ $left -gt 0 ]]; then log "waiting ${left} s (ext4 after a big deletion)"; sleep "$left"; fi
  sleep 3
}

vault="$work/vault" store="$work/hx-store" pulled="$work/hx-pull"
rpush="$work/rsync-push" rpull="$work/rsync-pull" rfsync="$work/rsync-fsync"
# rsync reads the vault itself, without hx's state directory.
rsync_src=(--exclude=/.hx "$vault/")

log "corpus S: $files files (seed $seed) in $vault"
t0=$(date +%s)
read -r nfiles nbytes < <(python3 bench/corpus.py gen S "$vault" --seed "$seed" --scale "$(python3 -c "print($files / 1e6)")")
printf 'corpus\tS: %s files, %s bytes, 1,000 directories (generated in %s s)\n' "$nfiles" "$nbytes" "$(($(date +%s) - t0))" >>"$meta"
log "corpus S: $nfiles files, $nbytes bytes ($(($(date +%s) - t0)) s)"
mkdir -p "$rpush" "$rpull" "$rfsync" "$pulled"
if has_tool hx; then quiet "$hx" sync init "$vault" "$store"; fi
settle

log "first push"
if has_tool hx; then measure hx push_first "$vault" "$hx" sync push "$vault"; fi
if has_tool rsync; then measure rsync push_first "$work" rsync -a "${rsync_src[@]}" "$rpush/"; fi
if has_tool hx; then printf 'store_bytes\t%s\n' "$(du -sb "$store" | cut -f1)" >>"$meta"; fi
settle
log "no-change push and status"
if has_tool hx; then measure hx push_nochange "$vault" "$hx" sync push "$vault"; fi
if has_tool rsync; then measure rsync push_nochange "$work" rsync -a "${rsync_src[@]}" "$rpush/"; fi
if has_tool hx; then measure hx status_nochange "$vault" "$hx" sync status "$vault"; fi

log "first pull into an empty folder"
if has_tool hx; then
  quiet "$hx" sync init "$pulled" "$store"
  measure hx pull_first "$pulled" "$hx" sync pull "$pulled"
fi
if has_tool rsync; then
  measure rsync pull_first "$work" rsync -a "$rpush/" "$rpull/"
  if [[ $files -le $fsync_first_max ]]; then
    measure rsync_fsync pull_first "$work" rsync -a --fsync "$rpush/" "$rfsync/"
  else
    # Untimed: the 1% pull below needs the copy. Made durable with one sync, not per file.
    log "  rsync -a --fsync first pull not timed (--files > --fsync-first-max); copying with rsync -a"
    quiet rsync -a "$rpush/" "$rfsync/"
    printf 'note	rsync -a --fsync first pull not timed (%s files > --fsync-first-max %s)\n' "$files" "$fsync_first_max" >>"$meta"
  fi
fi

log "push, then pull, after editing 1% of the files in place"
edited=$(python3 bench/corpus.py mutate "$vault" --seed "$seed" --run 1)
printf 'edited\t%s files (corpus.py mutate --run 1)\n' "$edited" >>"$meta"
settle
if has_tool hx; then measure hx push_change "$vault" "$hx" sync push "$vault"; fi
if has_tool rsync; then measure rsync push_change "$work" rsync -a "${rsync_src[@]}" "$rpush/"; fi
if has_tool hx; then measure hx pull_change "$pulled" "$hx" sync pull "$pulled"; fi
if has_tool rsync; then
  measure rsync pull_change "$work" rsync -a "$rpush/" "$rpull/"
  measure rsync_fsync pull_change "$work" rsync -a --fsync "$rpush/" "$rfsync/"
fi

log "checking the copies"
check() {  # check NAME DIR: diff -r against the vault (without .hx)
  local result="identical"
  diff -r -q --exclude=.hx "$vault" "$2" >"$logs/diff.$1" 2>&1 || result="DIFFERENT (see $logs/diff.$1)"
  printf 'check\t%s: %s\n' "$1" "$result" >>"$meta"
  log "  $1: $result"
}
if has_tool hx; then check hx-pull "$pulled"; fi
if has_tool rsync; then check rsync-pull "$rpull"; check rsync-fsync "$rfsync"; fi

python3 bench/scale_report.py "$out" | tee "$out/report.md"
if [[ -z "$compare" && $files -ne 100000 ]]; then
  compare=$(ls -d "$repo"/bench/results/scale-100000-* 2>/dev/null | sort | tail -1 || true)
fi
if [[ -n "$compare" ]]; then python3 bench/scale_report.py --growth "$compare" "$out" | tee "$out/growth.md"; fi
cp "$logs"/*.time "$out/" 2>/dev/null || true

if [[ $keep == 0 ]]; then
  log "deleting the trees under $work (minutes at 1,000,000 files)"
  rm -rf "$vault" "$store" "$pulled" "$rpush" "$rpull" "$rfsync"
  sync
  date +%s >"$work/.trees-deleted-at"
fi
if grep -q DIFFERENT "$meta"; then die "a copy differs from the vault (see above)"; fi
log "results: $out"
exit 0
