#!/usr/bin/env bash
# S3 benchmark: hx against `rclone sync` and `restic backup`, each to its own bucket on one local
# moto_server, through our counting proxy (src/store/s3/testing/fault_proxy.py, no faults), on
# corpus A of bench/sync.sh. Per phase: requests (by method), client CPU (user+sys of the client
# process) and wall time. See bench/README.md ("The S3 benchmark").
#
#   bench/s3.sh [--scale F] [--quick] [--runs N] [--tools hx,rclone,restic] [--seed S]
#               [--no-build] [--keep] [--out DIR]
#
#   --scale     corpus A at this fraction of its size (default 1: 10,013 files, 1 GiB)
#   --quick     --scale 0.1 (1,013 files, ~100 MiB): a run of a few minutes
#   --runs      runs of the no-change and 1% phases (default 3; the median is reported)
#   --tools     which clients to measure (default all three)
#   --no-build  use the hx binary as it is (default: scripts/build.sh release hx first)
#   --keep      leave the work dir (default: deleted at the end; logs and results stay in --out)
#   --out       where raw.tsv, requests.tsv, meta.tsv and report.md go (default build/bench/s3)
# Environment: HX_BENCH_DIR (work dir, default /tmp/hx-bench-s3; wiped at start), HX_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
. bench/moto.sh
repo=$(pwd)

scale=1 runs=3 seed=1 build=1 keep=0 tools="hx,rclone,restic"
out="$repo/build/bench/s3"
command_line="bench/s3.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --quick) scale=0.1; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --tools) tools="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) print_help ;;
    *) unknown_option "$1" ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || usage_error "--runs takes a positive integer"
parse_tools hx rclone restic

# ---- tools ---------------------------------------------------------------------------------
scripts/deps.sh bench
if has_tool hx; then
  if [[ $build == 1 && -z "${HX_BIN:-}" ]]; then
    log "building hx (scripts/build.sh release hx)"
    scripts/build.sh release -j2 hx >/dev/null || die "hx does not build; rerun later or use --tools rclone,restic"
  fi
  . bench/hx_bin.sh
fi

# ---- work dir and servers ------------------------------------------------------------------
bench_work_dir /tmp/hx-bench-s3
claim_work_dir .hx-bench-s3-workdir
rm -rf "$work"
mkdir -p "$work" "$out"
touch "$marker"
logs="$work/logs"
mkdir -p "$logs"

start_s3
log "moto_server on :$moto_port, counting proxy on $endpoint"
export HX_PASSPHRASE="hx-bench-passphrase"

raw="$out/raw.tsv" requests="$out/requests.tsv" meta="$out/meta.tsv"
printf 'tool\tphase\trun\twall_s\tuser_s\tsys_s\tmaxrss_kib\trequests\tby_method\n' >"$raw"
printf 'tool\tphase\trun\trequest\tcount\n' >"$requests"
{
  machine_meta
  printf 'scale\t%s\n' "$scale"
  printf 'runs\t%s\n' "$runs"
  printf 'seed\t%s\n' "$seed"
  printf 'server\tmoto_server %s on loopback, through fault_proxy.py (counting, no faults)\n' "$(python3 -c 'import moto; print(moto.__version__)')"
  tool_versions_meta
} >"$meta"

# measure TOOL PHASE RUN DIR CMD...: runs CMD under /usr/bin/time with the proxy's log reset
# before and read after, and appends one row to raw.tsv and the per-key-class counts to
# requests.tsv. CPU is the client's (user+sys of the process and its children); moto's is not in it.
measure() {
  local tool=$1 phase=$2 run=$3 dir=$4
  shift 4
  local logbase="$logs/$tool.$phase.$run" t0 t1 rc=0
  curl -fsS -X POST "$endpoint/__hxproxy/reset" >/dev/null
  sync
  t0=$(date +%s%N)
  (cd "$dir" && exec /usr/bin/time -f '%e %U %S %M' -o "$logbase.time" "$@") >"$logbase.out" 2>"$logbase.err" || rc=$?
  t1=$(date +%s%N)
  if [[ $rc -ne 0 ]]; then
    log "FAILED (exit $rc): $tool $phase run $run: (cd $dir && $*)"
    tail -n 20 "$logbase.err" "$logbase.out" >&2
    die "a measured command failed; logs in $logs"
  fi
  local base="/$tool-bench/"
  case "$tool" in hx) base="/hx-bench/vault/" ;; rclone) base="/rclone-bench/tree/" ;; esac
  curl -fsS "$endpoint/__hxproxy/counts?base=$base" >"$logbase.counts"
  local e u s m wall total by_method
  read -r e u s m < <(tail -n 1 "$logbase.time")
  wall=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.4f}')")
  read -r total by_method < <(python3 -c "
import json, sys
c = json.load(open('$logbase.counts'))
print(c['total'], ','.join(f'{k}={v}' for k, v in sorted(c['by_method'].items())) or '-')
for k, v in sorted(c['by_prefix'].items()):
    print(f'$tool\t$phase\t$run\t{k}\t{v}', file=open('$requests', 'a'))")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$phase" "$run" "$wall" "$u" "$s" "$m" "$total" "$by_method" >>"$raw"
  printf '  %-7s %-14s run %-2s %6s requests %8.2f s cpu %8.2f s wall\n' "$tool" "$phase" "$run" \
    "$total" "$(python3 -c "print($u + $s)")" "$wall" >&2
}

quiet() {
  local logbase="$logs/setup.$(date +%s%N)"
  "$@" >"$logbase.out" 2>"$logbase.err" || { tail -n 20 "$logbase.err" "$logbase.out" >&2; die "setup failed: $*"; }
}

src="$work/src" vault="$work/hx-vault" pulled="$work/hx-pull"
hx_target="s3+endpoint://hx-bench/vault"
hx_flags=(--endpoint "$endpoint" --path-style)
set_cmd() {  # set_cmd TOOL push|pull: cmd_dir and cmd (an array)
  cmd_dir="$work"
  case "$2/$1" in
    push/hx) cmd_dir="$vault"; cmd=("$hx" sync push "$vault") ;;
    pull/hx) cmd_dir="$pulled"; cmd=("$hx" sync pull "$pulled") ;;
    push/rclone) cmd=(rclone sync "$src" moto:rclone-bench/tree) ;;
    push/restic) cmd_dir="$src"; cmd=(restic -r "s3:$endpoint/restic-bench" backup .) ;;
    *) die "no $2 command for $1" ;;
  esac
}
timed() {  # timed TOOL PHASE RUN push|pull
  set_cmd "$1" "$4"
  measure "$1" "$2" "$3" "$cmd_dir" "${cmd[@]}"
}

log "corpus A at scale $scale (seed $seed)"
read -r files bytes < <(python3 bench/corpus.py gen A "$src" --seed "$seed" --scale "$scale")
printf 'corpus\tA: %s files, %s bytes\n' "$files" "$bytes" >>"$meta"
if has_tool hx; then
  cp -a "$src" "$vault"
  mkdir -p "$pulled"
  quiet "$hx" sync init "$vault" "$hx_target" "${hx_flags[@]}"
fi
if has_tool restic; then quiet restic -r "s3:$endpoint/restic-bench" init; fi
log "corpus A: $files files, $bytes bytes"
# hx re-reads files whose mtime is within 2 s of a scan (racy timestamps); see bench/README.md.
sleep 3

log "first push"
for t in "${tool_list[@]}"; do timed "$t" push_first 1 push; done
if has_tool hx; then
  quiet "$hx" sync init "$pulled" "$hx_target" "${hx_flags[@]}"
  timed hx pull_first 1 pull
fi
log "no-change push and pull ($runs runs)"
for ((r = 1; r <= runs; r++)); do
  for t in "${tool_list[@]}"; do timed "$t" push_nochange "$r" push; done
  if has_tool hx; then timed hx pull_nochange "$r" pull; fi
done
log "push (and hx pull) after editing 1% of the files ($runs runs, a new edit each)"
for ((r = 1; r <= runs; r++)); do
  quiet python3 bench/corpus.py mutate "$src" --seed "$seed" --run "$r"
  if has_tool hx; then quiet python3 bench/corpus.py mutate "$vault" --seed "$seed" --run "$r"; fi
  sleep 3
  for t in "${tool_list[@]}"; do timed "$t" push_change "$r" push; done
  if has_tool hx; then timed hx pull_change "$r" pull; fi
done

verdict="not checked"
if has_tool hx; then
  if diff -r -q --exclude=.hx "$vault" "$pulled" >"$logs/hx.diff" 2>&1 && \
     diff -r -q --exclude=.hx "$src" "$vault" >>"$logs/hx.diff" 2>&1; then verdict="identical"
  else verdict="DIFFERENT (see $logs/hx.diff)"; fi
  printf 'check\thx pulled vault vs pushing vault vs src: %s\n' "$verdict" >>"$meta"
fi
python3 bench/s3_report.py "$out" | tee "$out/report.md"
stop_s3
if [[ $keep == 0 ]]; then rm -rf "$src" "$vault" "$pulled" "$work/restic-cache"; fi
[[ $verdict != DIFFERENT* ]] || die "hx's pulled copy differs (see $logs/hx.diff)"
exit 0
