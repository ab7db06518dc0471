#!/usr/bin/env bash
# S3 at a distance (issue 15, item 6): hx against rclone and restic, each to its own bucket on one
# local moto_server, through our proxy (src/store/s3/testing/fault_proxy.py) shaping every message
# like a distant S3 (one-way latency, a shared link rate each way), on corpus A of bench/sync.sh.
# Timed: first push, first pull into an empty folder, and after a 1% edit the push and the pull
# that brings it. Not part of the tests. See bench/README.md ("S3 at a distance").
#
#   bench/s3_distance.sh [--latency-ms 30] [--jitter-ms 0] [--rate-mbit 100] [--scale F]
#                        [--tools hx,rclone,restic] [--seed S] [--keep] [--out DIR]
#
#   --latency-ms  one-way delay of each message (default 30: a 60 ms round trip)
#   --jitter-ms   up to this much more per message, seeded (default 0)
#   --rate-mbit   the link each way, shared by all connections (default 100)
#   --scale       corpus A at this fraction of its size (default 1: 10,013 files, 1 GiB)
#   --tools       which clients to measure (default all three)
#   --keep        leave the work dir (default: trees deleted at the end; results stay in --out)
#   --out         where raw.tsv, meta.tsv, report.md and the proxy's counts per command go
#                 (default bench/results/s3-distance-<UTC time>)
# Environment: HX_BENCH_DIR (work dir, default /tmp/hx-bench-s3-distance; wiped at start), HX_BIN
# (default build/release/src/cli/hx, else build/gcc/src/cli/hx).
#
# Pulls: hx pulls into a second vault joined to the store; rclone syncs the bucket into a folder
# (`rclone sync moto:bucket/tree DIR`, its defaults: 4 transfers, 8 checkers); restic restores the
# latest snapshot (`restic restore latest --target DIR`). restic 0.14 has no incremental restore:
# its 1% pull restores every file again, which is what it costs a restic user.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
. bench/moto.sh
. bench/timing.sh
repo=$(pwd)

latency_ms=30 jitter_ms=0 rate_mbit=100 scale=1 seed=1 keep=0 tools="hx,rclone,restic" out=""
command_line="bench/s3_distance.sh $*"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --latency-ms) latency_ms="$2"; shift 2 ;;
    --jitter-ms) jitter_ms="$2"; shift 2 ;;
    --rate-mbit) rate_mbit="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    --tools) tools="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) print_help ;;
    *) unknown_option "$1" ;;
  esac
done
parse_tools hx rclone restic
[[ -n "$out" ]] || out="$repo/bench/results/s3-distance-$(date -u +%Y%m%dT%H%M%SZ)"

# ---- tools ---------------------------------------------------------------------------------
for c in rclone restic rsync; do command -v "$c" >/dev/null || { scripts/deps.sh bench; break; }; done
if has_tool hx; then . bench/hx_bin.sh; fi

# ---- work dir and servers ------------------------------------------------------------------
bench_work_dir /tmp/hx-bench-s3-distance
claim_work_dir .hx-bench-s3-distance-workdir
rm -rf "$work"
mkdir -p "$work" "$out"
touch "$marker"
logs="$work/logs"
mkdir -p "$logs"

start_s3 --config "{\"seed\": $seed}" --latency-ms "$latency_ms" --jitter-ms "$jitter_ms" \
  --rate-mbit "$rate_mbit"
log "moto_server on :$moto_port, shaping proxy on $endpoint (${latency_ms} ms each way, ${rate_mbit} Mbit/s)"
export HX_PASSPHRASE="hx-bench-passphrase"

raw="$out/raw.tsv" meta="$out/meta.tsv"
printf 'tool\tphase\twall_s\tuser_s\tsys_s\tmaxrss_kib\trequests\tby_method\tbytes_up\tbytes_down\tlink_s_up\tlink_s_down\thandshakes\tload1\n' >"$raw"
{
  machine_meta
  printf 'shaping\t%s ms one way (+ up to %s ms jitter, seed %s), %s Mbit/s each way, shared\n' "$latency_ms" "$jitter_ms" "$seed" "$rate_mbit"
  printf 'server\tmoto_server %s on loopback, through fault_proxy.py (shaping, no faults)\n' "$(python3 -c 'import moto; print(moto.__version__)')"
  tool_versions_meta
} >"$meta"

# measure TOOL PHASE DIR CMD...: the proxy's log reset, `sync`, CMD under /usr/bin/time, then the
# proxy's counts (requests, bytes, link time); one row of raw.tsv.
measure() {
  local tool=$1 phase=$2 dir=$3
  shift 3
  local logbase="$logs/$tool.$phase" rc=0 load
  curl -fsS -X POST "$endpoint/__hxproxy/reset" >/dev/null
  load=$(cut -d' ' -f1 /proc/loadavg)
  run_timed "$logbase" env -C "$dir" "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    log "FAILED (exit $rc): $tool $phase: (cd $dir && $*)"
    tail -n 20 "$logbase.err" "$logbase.out" >&2
    die "a measured command failed; logs in $logs"
  fi
  curl -fsS "$endpoint/__hxproxy/counts" >"$logbase.counts"
  local u=$timed_user s=$timed_sys m=$timed_rss wall=$timed_wall counts
  counts=$(python3 -c "
import json
c = json.load(open('$logbase.counts'))
s = c['shaping']
m = ','.join(f'{k}={v}' for k, v in sorted(c['by_method'].items())) or '-'
print('\t'.join(str(x) for x in (c['total'], m, s['bytes_up'], s['bytes_down'],
      f\"{s['link_s_up']:.2f}\", f\"{s['link_s_down']:.2f}\", s['handshakes'])))")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$phase" "$wall" "$u" "$s" "$m" "$counts" "$load" >>"$raw"
  printf '  %-7s %-12s %9.2f s wall %7.2f s cpu  %s\n' "$tool" "$phase" "$wall" "$(python3 -c "print($u + $s)")" "$counts" >&2
}
quiet() {
  local logbase="$logs/setup.$(date +%s%N)"
  "$@" >"$logbase.out" 2>"$logbase.err" || { tail -n 20 "$logbase.err" "$logbase.out" >&2; die "setup failed: $*"; }
}

src="$work/src" vault="$work/hx-vault" pulled="$work/hx-pull"
hx_target="s3+endpoint://hx-bench/vault"
hx_flags=(--endpoint "$endpoint" --path-style)
timed() {  # timed TOOL PHASE push|pull
  local dir="$work" cmd
  case "$3/$1" in
    push/hx) dir="$vault"; cmd=("$hx" sync push "$vault") ;;
    pull/hx) dir="$pulled"; cmd=("$hx" sync pull "$pulled") ;;
    push/rclone) cmd=(rclone sync "$src" moto:rclone-bench/tree) ;;
    pull/rclone) cmd=(rclone sync moto:rclone-bench/tree "$work/rclone-pull") ;;
    push/restic) dir="$src"; cmd=(restic -r "s3:$endpoint/restic-bench" backup .) ;;
    pull/restic) cmd=(restic -r "s3:$endpoint/restic-bench" restore latest --target "$work/restic-pull") ;;
  esac
  measure "$1" "$2" "$dir" "${cmd[@]}"
}

log "corpus A at scale $scale (seed $seed)"
read -r files bytes < <(python3 bench/corpus.py gen A "$src" --seed "$seed" --scale "$scale")
printf 'corpus\tA: %s files, %s bytes\n' "$files" "$bytes" >>"$meta"
mkdir -p "$pulled" "$work/rclone-pull" "$work/restic-pull"
if has_tool hx; then
  cp -a "$src" "$vault"
  quiet "$hx" sync init "$vault" "$hx_target" "${hx_flags[@]}"
fi
if has_tool restic; then quiet restic -r "s3:$endpoint/restic-bench" init; fi
sleep 3  # hx re-reads files whose mtime is within 2 s of a scan (see bench/README.md)

log "first push"
for t in "${tool_list[@]}"; do timed "$t" push_first push; done
log "first pull into an empty folder"
if has_tool hx; then quiet "$hx" sync init "$pulled" "$hx_target" "${hx_flags[@]}"; fi
for t in "${tool_list[@]}"; do timed "$t" pull_first pull; done
log "push, then pull, after editing 1% of the files"
quiet python3 bench/corpus.py mutate "$src" --seed "$seed" --run 1
if has_tool hx; then quiet python3 bench/corpus.py mutate "$vault" --seed "$seed" --run 1; fi
sleep 3
for t in "${tool_list[@]}"; do timed "$t" push_change push; done
for t in "${tool_list[@]}"; do timed "$t" pull_change pull; done

log "checking the pulled copies"
check() {  # check NAME DIR
  local result="identical"
  diff -r -q --exclude=.hx "$src" "$2" >"$logs/diff.$1" 2>&1 || result="DIFFERENT (see $logs/diff.$1)"
  printf 'check\t%s: %s\n' "$1" "$result" >>"$meta"
  log "  $1: $result"
}
if has_tool hx; then check hx-pull "$pulled"; fi
if has_tool rclone; then check rclone-pull "$work/rclone-pull"; fi
if has_tool restic; then check restic-pull "$work/restic-pull"; fi
python3 bench/s3_distance_report.py "$out" | tee "$out/report.md"
cp "$logs"/*.counts "$out/" 2>/dev/null || true  # the proxy's accounting per command (JSON)
stop_s3
if [[ $keep == 0 ]]; then rm -rf "$src" "$vault" "$pulled" "$work/rclone-pull" "$work/restic-pull" "$work/restic-cache"; fi
if grep -q DIFFERENT "$meta"; then die "a pulled copy differs from the source (see above)"; fi
log "results: $out"
exit 0
