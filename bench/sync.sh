#!/usr/bin/env bash
# End-to-end sync benchmark: hx against rsync, rclone, restic and unison on the same generated
# corpora, in one run, with the same edits. See bench/README.md for what each phase means.
#
#   bench/sync.sh [--corpus A|B|both] [--runs N] [--first-runs N] [--quick] [--cold]
#                 [--tools hx,rsync,rclone,restic,unison] [--seed S] [--no-build] [--out DIR]
#
#   --corpus      which corpus to run (default both)
#   --runs        runs of each fast phase (no-change, after a 1% change); median reported (default 3)
#   --first-runs  runs of each first push / first pull (default 1; each starts from an empty target)
#   --quick       the corpora at a tenth of their size (A: 1,013 files / 100 MiB, B: 10,000 files)
#   --cold        drop the page cache (echo 3 > /proc/sys/vm/drop_caches) before every timed command;
#                 without it every run is warm-cache (the corpus was just written)
#   --tools       which tools to measure (default all five; without hx only the peers are measured)
#   --no-build    use the hx binary as it is (default: scripts/build.sh release hx first)
#   --keep        leave the trees in the work dir (default: deleted at the end; the logs stay)
#   --out         where the raw measurements and the report go (default build/bench/sync)
# Environment: HX_BENCH_DIR (work dir, default /tmp/hx-bench; wiped at start), HX_BIN (hx binary).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
repo=$(pwd)

corpora="both" runs=3 first_runs=1 scale=1 cold=0 build=1 seed=1 keep=0
tools="hx,rsync,rclone,restic,unison"
out="$repo/build/bench/sync"
command_line="bench/sync.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --corpus) corpora="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --first-runs) first_runs="$2"; shift 2 ;;
    --quick) scale=0.1; shift ;;
    --cold) cold=1; shift ;;
    --tools) tools="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) print_help ;;
    *) unknown_option "$1" ;;
  esac
done
case "$corpora" in A) corpora="A" ;; B) corpora="B" ;; both) corpora="A B" ;;
  *) usage_error "--corpus A|B|both" ;; esac
[[ "$runs" =~ ^[1-9][0-9]*$ && "$first_runs" =~ ^[1-9][0-9]*$ ]] ||
  usage_error "--runs and --first-runs take a positive integer"
parse_tools hx rsync rclone restic unison
peers=()
for t in "${tool_list[@]}"; do if [[ $t != hx ]]; then peers+=("$t"); fi; done

# ---- tools ---------------------------------------------------------------------------------
scripts/deps.sh bench
if has_tool hx; then
  if [[ $build == 1 && -z "${HX_BIN:-}" ]]; then
    log "building hx (scripts/build.sh release hx)"
    scripts/build.sh release -j2 hx >/dev/null || die "hx does not build; rerun later, or measure only the peers with --tools rsync,rclone,restic,unison"
  fi
  . bench/hx_bin.sh
fi

# ---- work dir ------------------------------------------------------------------------------
bench_work_dir /tmp/hx-bench
claim_work_dir .hx-bench-workdir
# ext4 without a journal (as on this VM) skips inodes freed in the last 60 s when it allocates
# new ones, with a buffer lookup each: right after deleting a big tree, creating files costs
# several times more. So the wipe is followed by `sync` and timing starts 60 s after it, and
# nothing is deleted until the end of the run (replaced targets are moved to $work/trash).
wiped_at=$(cat "$work/.trees-deleted-at" 2>/dev/null || echo 0)
if [[ -d "$work/A" || -d "$work/B" || -d "$work/trash" ]]; then
  log "wiping $work"
  rm -rf "$work"
  sync
  wiped_at=$(date +%s)
fi
rm -rf "$work"
mkdir -p "$work" "$out"
touch "$marker"
logs="$work/logs"
mkdir -p "$logs"

# Space: per corpus the source, hx's copy, and per first run 11 targets (5 pushed, restic's
# repository counted as one, 5 pulled; earlier runs' targets wait in trash until the end).
need_kb=0 need_inodes=0
copies=$((2 + 11 * first_runs))
for c in $corpora; do
  if [[ $c == A ]]; then need_kb=$((need_kb + copies * 1100 * 1024)); need_inodes=$((need_inodes + copies * 10200))
  else need_kb=$((need_kb + copies * 600 * 1024)); need_inodes=$((need_inodes + copies * 101100)); fi
done
need_kb=$(python3 -c "print(int($need_kb * $scale))")
need_inodes=$(python3 -c "print(int($need_inodes * $scale))")
check_disk "$need_kb" "$need_inodes"

# Nothing may leak into ~/.unison, ~/.config/rclone or ~/.cache/restic.
export RESTIC_PASSWORD="hx-bench-password" RESTIC_CACHE_DIR="$work/restic-cache"
export RCLONE_CONFIG="$work/rclone.conf" XDG_CACHE_HOME="$work/xdg-cache" XDG_CONFIG_HOME="$work/xdg-config"
export HX_PASSPHRASE="hx-bench-passphrase"
: >"$RCLONE_CONFIG"

if [[ $cold == 1 ]]; then
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || die "--cold: cannot write /proc/sys/vm/drop_caches (need root)"
fi

raw="$out/raw.tsv" sizes="$out/sizes.tsv" verify="$out/verify.tsv" meta="$out/meta.tsv"
printf 'corpus\ttool\tphase\trun\twall_s\tuser_s\tsys_s\tmaxrss_kib\tload1\n' >"$raw"
printf 'corpus\ttool\twhat\tbytes\n' >"$sizes"
printf 'corpus\tcheck\tresult\n' >"$verify"
{
  machine_meta
  printf 'scale\t%s\n' "$scale"
  printf 'runs\t%s\n' "$runs"
  printf 'first_runs\t%s\n' "$first_runs"
  printf 'cache\t%s\n' "$([[ $cold == 1 ]] && echo cold || echo warm)"
  printf 'seed\t%s\n' "$seed"
  printf 'tools\t%s\n' "$tools"
  tool_versions_meta
} >"$meta"

# ---- measuring -----------------------------------------------------------------------------
# measure CORPUS TOOL PHASE RUN DIR CMD...: runs CMD in DIR under /usr/bin/time and appends one
# row to raw.tsv. Dirty pages are flushed first so that one tool's writes are not paid by the
# next one. Wall time is taken around the command with nanosecond clocks (%e has 10 ms steps).
measure() {
  local corpus=$1 tool=$2 phase=$3 run=$4 dir=$5
  shift 5
  local logbase="$logs/$corpus.$tool.$phase.$run"
  sync
  if [[ $cold == 1 ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
  local load t0 t1 rc=0
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s%N)
  (cd "$dir" && exec /usr/bin/time -f '%e %U %S %M' -o "$logbase.time" "$@") >"$logbase.out" 2>"$logbase.err" || rc=$?
  t1=$(date +%s%N)
  if [[ $rc -ne 0 ]]; then
    log "FAILED (exit $rc): $corpus $tool $phase run $run: (cd $dir && $*)"
    tail -n 20 "$logbase.err" "$logbase.out" >&2
    die "a measured command failed; logs in $logs"
  fi
  local e u s m wall
  read -r e u s m < <(tail -n 1 "$logbase.time")
  wall=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.4f}')")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$corpus" "$tool" "$phase" "$run" "$wall" "$u" "$s" "$m" "$load" >>"$raw"
  printf '  %s %-7s %-15s run %-2s %9.3f s wall %8.2f s cpu %8.1f MiB rss\n' "$corpus" "$tool" "$phase" \
    "$run" "$wall" "$(python3 -c "print($u + $s)")" "$(python3 -c "print($m / 1024)")" >&2
}

# Waits until 61 s have passed since the wipe (see above); logs why. Then, and after every edit,
# 3 s more: hx does not cache the stat of a file whose mtime or ctime is within 2 s of a scan
# (racy timestamps) and reads it again next time, so a push started right after `cp` would make
# the next no-change push look like a rescan. A user's files are rarely that fresh.
settle() {
  if [[ $wiped_at -ne 0 ]]; then
    local left=$((wiped_at + 61 - $(date +%s)))
    if [[ $left -gt 0 ]]; then
      log "waiting ${left} s: ext4 allocates inodes slowly for 60 s after a big deletion (see bench/README.md)"
      sleep "$left"
    fi
    wiped_at=0
  fi
  sleep 3
}

# Moves a path out of the way without deleting it (deleting is deferred to the end of the run).
discard() {
  local p
  for p in "$@"; do
    if [[ -e "$p" ]]; then mkdir -p "$work/trash"; mv "$p" "$work/trash/$(date +%s%N)"; fi
  done
}

# Untimed helper commands (setup) whose failure stops the run.
quiet() {
  local logbase="$logs/setup.$(date +%s%N)"
  "$@" >"$logbase.out" 2>"$logbase.err" || { tail -n 20 "$logbase.err" "$logbase.out" >&2; die "setup failed: $*"; }
}

# Per corpus: $src is the source tree every peer reads; hx works on its own byte-identical copy
# ($base/hx-vault) because hx keeps its state in <vault>/.hx, which the peers must not see.
# Push targets: $base/<tool>-push (restic: a repository); pull targets: $base/<tool>-pull.
# Sets cmd_dir and cmd (an array) to a tool's push, pull or status command.
set_cmd() {
  local tool=$1 side=$2
  cmd_dir="$base"
  case "$side/$tool" in
    push/hx) cmd_dir="$base/hx-vault"; cmd=("$hx" sync push "$base/hx-vault") ;;
    push/rsync) cmd=(rsync -a "$src/" "$base/rsync-push/") ;;
    push/rclone) cmd=(rclone sync "$src" "$base/rclone-push") ;;
    push/restic) cmd_dir="$src"; cmd=(restic -r "$base/restic-push" backup .) ;;
    push/unison) cmd=(env UNISON="$base/unison-state-push" unison -batch -auto "$src" "$base/unison-push") ;;
    pull/hx) cmd_dir="$base/hx-pull"; cmd=("$hx" sync pull "$base/hx-pull") ;;
    pull/rsync) cmd=(rsync -a "$base/rsync-push/" "$base/rsync-pull/") ;;
    pull/rclone) cmd=(rclone sync "$base/rclone-push" "$base/rclone-pull") ;;
    pull/restic) cmd=(restic -r "$base/restic-push" restore latest --target "$base/restic-pull") ;;
    pull/unison) cmd=(env UNISON="$base/unison-state-pull" unison -batch -auto "$base/unison-push" "$base/unison-pull") ;;
    status/hx) cmd_dir="$base/hx-vault"; cmd=("$hx" sync status "$base/hx-vault") ;;
    *) die "no $side command for $tool" ;;
  esac
}

# Empties a tool's push target (and the state that goes with it) before a first push.
reset_push() {
  local tool=$1
  case "$tool" in
    hx) discard "$base/hx-store" "$base/hx-vault/.hx"
        quiet "$hx" sync init "$base/hx-vault" "$base/hx-store" ;;
    restic) discard "$base/restic-push"; quiet restic -r "$base/restic-push" init ;;
    unison) discard "$base/unison-push" "$base/unison-state-push"; mkdir -p "$base/unison-push" "$base/unison-state-push" ;;
    *) discard "$base/$tool-push"; mkdir -p "$base/$tool-push" ;;
  esac
}
reset_pull() {
  local tool=$1
  discard "$base/$tool-pull"
  mkdir -p "$base/$tool-pull"
  case "$tool" in
    hx) quiet "$hx" sync init "$base/hx-pull" "$base/hx-store" ;;
    unison) discard "$base/unison-state-pull"; mkdir -p "$base/unison-state-pull" ;;
  esac
}

timed() {  # timed CORPUS TOOL PHASE RUN push|pull|status
  set_cmd "$2" "$5"
  measure "$1" "$2" "$3" "$4" "$cmd_dir" "${cmd[@]}"
}

check_same() {  # check_same CORPUS NAME DIR1 DIR2: diff -r (ignoring .hx/), recorded in verify.tsv
  local corpus=$1 name=$2 a=$3 b=$4 result
  if diff -r -q --exclude=.hx "$a" "$b" >"$logs/$corpus.diff.$name" 2>&1; then result="identical"
  else result="DIFFERENT ($(wc -l <"$logs/$corpus.diff.$name") lines of diff -rq, see $logs/$corpus.diff.$name)"; fi
  printf '%s\t%s\t%s\n' "$corpus" "diff -r --exclude=.hx ${a#"$work"/} ${b#"$work"/}" "$result" >>"$verify"
  log "  check $corpus: diff -r --exclude=.hx ${a#"$work"/} ${b#"$work"/}: $result"
}

run_corpus() {
  local c=$1 r t
  base="$work/$c" src="$work/$c/src"
  log "corpus $c: generating (seed $seed, scale $scale)"
  local files bytes
  read -r files bytes < <(python3 bench/corpus.py gen "$c" "$src" --seed "$seed" --scale "$scale")
  printf '%s\tcorpus\tfiles\t%s\n%s\tcorpus\tbytes\t%s\n' "$c" "$files" "$c" "$bytes" >>"$sizes"
  if has_tool hx; then cp -a "$src" "$base/hx-vault"; fi
  log "corpus $c: $files files, $bytes bytes"
  settle

  log "corpus $c: first push (from an empty target, $first_runs run(s))"
  for ((r = 1; r <= first_runs; r++)); do
    for t in "${tool_list[@]}"; do reset_push "$t"; timed "$c" "$t" push_first "$r" push; done
  done
  for t in "${tool_list[@]}"; do
    local target="$base/$t-push"
    [[ $t == hx ]] && target="$base/hx-store"
    printf '%s\t%s\tpush_target\t%s\n' "$c" "$t" "$(du -sb "$target" | cut -f1)" >>"$sizes"
  done

  log "corpus $c: no-change push ($runs runs)"
  for ((r = 1; r <= runs; r++)); do
    for t in "${tool_list[@]}"; do timed "$c" "$t" push_nochange "$r" push; done
    if has_tool hx; then timed "$c" hx status_nochange "$r" status; fi
  done

  log "corpus $c: first pull into an empty second folder ($first_runs run(s))"
  for ((r = 1; r <= first_runs; r++)); do
    for t in "${tool_list[@]}"; do reset_pull "$t"; timed "$c" "$t" pull_first "$r" pull; done
  done

  # restic 0.14 has no incremental restore: a later restore rewrites every file (a repeat of the
  # first pull, and minutes at 100,000 files), so its pull is only measured into an empty folder
  # and checked here, before the edits.
  if has_tool restic; then check_same "$c" restic-pull-first "$src" "$base/restic-pull"; fi

  log "corpus $c: no-change pull ($runs runs)"
  for ((r = 1; r <= runs; r++)); do
    for t in "${tool_list[@]}"; do
      if [[ $t != restic ]]; then timed "$c" "$t" pull_nochange "$r" pull; fi
    done
  done

  log "corpus $c: push, then pull, after editing 1% of the files in place ($runs runs, a new edit each)"
  for ((r = 1; r <= runs; r++)); do
    local edited
    edited=$(python3 bench/corpus.py mutate "$src" --seed "$seed" --run "$r")
    if has_tool hx; then quiet python3 bench/corpus.py mutate "$base/hx-vault" --seed "$seed" --run "$r"; fi
    log "  edit $r: $edited files"
    settle
    for t in "${tool_list[@]}"; do timed "$c" "$t" push_change "$r" push; done
    for t in "${tool_list[@]}"; do
      if [[ $t != restic ]]; then timed "$c" "$t" pull_change "$r" pull; fi
    done
  done

  log "corpus $c: checking every copy"
  if has_tool hx; then
    check_same "$c" hx-pull-vs-hx-vault "$base/hx-vault" "$base/hx-pull"
    check_same "$c" hx-vault-vs-src "$src" "$base/hx-vault"
  fi
  for t in "${peers[@]}"; do
    if [[ $t == restic ]]; then
      local verdict="errors (see $logs/$c.restic-check)"
      if restic -r "$base/restic-push" check >"$logs/$c.restic-check" 2>&1; then verdict="no errors were found"; fi
      printf '%s\t%s\t%s\n' "$c" "restic check (the repository after the last backup)" "$verdict" >>"$verify"
      log "  check $c: restic check: $verdict"
    else
      check_same "$c" "$t-push" "$src" "$base/$t-push"
      check_same "$c" "$t-pull" "$src" "$base/$t-pull"
    fi
  done
}

for c in $corpora; do run_corpus "$c"; done
python3 bench/sync_report.py "$out" | tee "$out/report.md"
log "raw measurements: $raw; logs: $logs"
# The trees go only now (see the wipe above); the logs stay.
if [[ $keep == 0 ]]; then
  log "deleting the trees under $work (minutes for B on this disk)"
  for c in $corpora; do rm -rf "${work:?}/$c"; done
  rm -rf "$work/trash"
  sync
  date +%s >"$work/.trees-deleted-at"
fi
if grep -q DIFFERENT "$verify"; then die "a copy differs from its source (see above)"; fi
exit 0
