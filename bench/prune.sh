#!/usr/bin/env bash
# Prune benchmark: hx sync forget + prune against restic forget --prune, on the same data, in one run.
#
#   bench/prune.sh [--scale F] [--snapshots N] [--fraction F] [--seed S] [--repack-below P] [--hx PATH] [--out DIR]
#
#   --scale      corpus A's scale (default 1: 10,013 files, 1 GiB; 0.1 for a quick run)
#   --snapshots  how many snapshots each tool takes (default 10); half of them (the oldest) are forgotten
#   --fraction   share of the files edited between two snapshots (default 0.1: corpus.py mutate)
#   --repack-below  hx prune's --repack-below (default 50: packs under 50% live are repacked)
#   --hx         the hx binary (default build/gcc/src/cli/hx; build it first)
#   --out        where the report goes (default build/bench/prune)
# Requirements: python3 and openssl (bench/corpus.py), restic (Debian: apt-get install restic; without it
# only hx is measured), strace (restic's repository file operations are counted with it; optional), GNU time.
# Environment: HX_BENCH_DIR (work dir, default /tmp/hx-bench-prune; wiped at start).
#
# Both tools work on a local folder: hx on a folder store (its report counts its store requests), restic
# on a local repository (its store requests are counted as the file operations it makes under the
# repository: opens, renames, unlinks, with strace). Space freed is measured with du before and after and
# compared with what each tool reports.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

scale=1 snapshots=10 fraction=0.1 seed=7 repack_below=50
hx="$repo/build/gcc/src/cli/hx"
out="$repo/build/bench/prune"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --snapshots) snapshots="$2"; shift 2 ;;
    --fraction) fraction="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --repack-below) repack_below="$2"; shift 2 ;;
    --hx) hx="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "prune.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x "$hx" ]] || { echo "prune.sh: no hx binary at $hx (scripts/build.sh gcc hx)" >&2; exit 2; }
work="${HX_BENCH_DIR:-/tmp/hx-bench-prune}"
rm -rf "$work"; mkdir -p "$work" "$out"
export HX_PASSPHRASE="hx-bench-passphrase" RESTIC_PASSWORD="hx-bench-password"
export RESTIC_CACHE_DIR="$work/restic-cache"
have_restic=0; command -v restic >/dev/null && have_restic=1
have_strace=0; command -v strace >/dev/null && have_strace=1
report="$out/report.txt"; : >"$report"
say() { echo "$*" | tee -a "$report"; }
# The bytes of the files under a directory (du -sb would add the directories themselves).
bytes() { find "$1" -type f -printf "%s\n" | awk "{s += \$1} END {print s + 0}"; }
# Wall seconds of a command (its output to a log).
timed() { local log=$1; shift; local t0 t1; t0=$(date +%s.%N); "$@" >"$log" 2>&1; t1=$(date +%s.%N)
  python3 -c "print(f'{$t1-$t0:.2f}')"; }

src="$work/vault"
python3 bench/corpus.py gen A "$src" --seed "$seed" --scale "$scale" >/dev/null
say "corpus A scale $scale: $(python3 bench/corpus.py describe "$src" --exclude .hx) (files bytes); $snapshots snapshots, $fraction of the files edited between two"
"$hx" sync init "$src" "$work/hx-store" >/dev/null
((have_restic)) && restic -r "$work/restic" init >/dev/null
for ((i = 1; i <= snapshots; i++)); do
  if ((i > 1)); then
    python3 bench/corpus.py mutate "$src" --seed "$seed" --run "$i" --fraction "$fraction" --exclude .hx >/dev/null
  fi
  "$hx" sync push "$src" >/dev/null
  ((have_restic)) && (cd "$src" && restic -r "$work/restic" backup --exclude .hx . >/dev/null)
done
keep=$((snapshots - snapshots / 2))
say "forget all but the $keep newest snapshots, then prune"

# hx: forget (a record), then prune with no grace period (condemn and delete in one run). The whole store
# (packs and snapshot bodies) is measured.
"$hx" sync forget "$src" --keep-last "$keep" >/dev/null
hx_before=$(bytes "$work/hx-store/blobs"); hx_snap_before=$(bytes "$work/hx-store/snapshots")
hx_secs=$(timed "$out/hx-prune.json" "$hx" --json sync prune "$src" --grace 0 --repack-below "$repack_below")
hx_after=$(bytes "$work/hx-store/blobs"); hx_snap_after=$(bytes "$work/hx-store/snapshots")
python3 - "$out/hx-prune.json" "$hx_before" "$hx_after" "$hx_secs" "$hx_snap_before" "$hx_snap_after" <<'PY' | tee -a "$report"
import json, sys
r = json.load(open(sys.argv[1]))
before, after, secs = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
snap_before, snap_after = int(sys.argv[5]), int(sys.argv[6])
reqs = r.get("requests", {})
left = r['packs_listed'] - r['packs_deleted']
print(f"hx prune: {secs} s; packs {r['packs_listed'] - r['packs_written']} -> {left} "
      f"({r['packs_repacked']} repacked into {r['packs_written']}: {r['objects_copied']} objects, "
      f"{r['bytes_written']} bytes written); pack bytes freed {before - after} "
      f"(reported {r['bytes_deleted']} deleted - {r['bytes_written']} written = "
      f"{r['bytes_deleted'] - r['bytes_written']}); snapshots deleted {r['snapshots_deleted']}, "
      f"snapshot bytes freed {snap_before - snap_after} (reported {r['snapshot_bytes_deleted']} deleted - "
      f"{r['relocation_bytes']} of relocation snapshot = {r['snapshot_bytes_deleted'] - r['relocation_bytes']}); "
      f"unreferenced bytes left in needed packs {r['garbage_bytes_in_needed_packs']}; "
      f"store requests {sum(reqs.values())} {json.dumps(reqs, sort_keys=True)}")
PY
verify_secs=$(timed "$out/hx-verify.txt" "$hx" sync verify "$src" --read-data) \
  && say "hx verify --read-data after prune: clean ($verify_secs s)" \
  || say "hx verify --read-data after prune: FAILED (see $out/hx-verify.txt)"

if ((have_restic)); then
  r_before=$(bytes "$work/restic/data")
  cmd=(restic -r "$work/restic" forget --keep-last "$keep" --prune)
  if ((have_strace)); then
    cmd=(strace -f -qq -e trace=openat,unlink,unlinkat,rename,renameat,renameat2,stat,newfstatat,statx
         -o "$out/restic.strace" "${cmd[@]}")
  fi
  r_secs=$(timed "$out/restic-prune.txt" "${cmd[@]}")
  r_after=$(bytes "$work/restic/data")
  reported=$(grep -Eo 'this removes:? .*|total prune:? .*|frees? [0-9.]+ [KMG]iB' "$out/restic-prune.txt" | tr '\n' ' ' || true)
  ops="n/a (no strace)"
  if ((have_strace)); then
    repo_path="$work/restic/"
    ops=$(python3 - "$out/restic.strace" "$repo_path" <<'PY'
import collections, re, sys
counts = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\s*\d+\s+(\w+)\((.*)", line)
    if not m or sys.argv[2] not in m.group(2):
        continue
    call = m.group(1)
    kind = {"openat": "open", "unlink": "delete", "unlinkat": "delete", "rename": "rename",
            "renameat": "rename", "renameat2": "rename"}.get(call, "stat")
    if kind == "open" and "O_CREAT" in m.group(2):
        kind = "create"
    counts[kind] += 1
print(sum(counts.values()), dict(sorted(counts.items())))
PY
)
  fi
  say "restic forget --prune: $r_secs s; freed $((r_before - r_after)) bytes (reported: ${reported:-see log}); repository file operations $ops"
  restic -r "$work/restic" check >"$out/restic-check.txt" 2>&1 && say "restic check after prune: no errors" || say "restic check: errors (see $out/restic-check.txt)"
  say "restic version: $(restic version)"
else
  say "restic not installed (apt-get install restic): only hx measured"
fi
say "hx: $("$hx" version 2>/dev/null | head -1)"
