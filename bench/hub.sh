#!/usr/bin/env bash
# The hub under load (issue 16, item 8): one `hx serve` over a folder store on
# loopback, --devices simulated devices holding change feeds (long polls),
# --pushers of them writing their vault's head.json with put-if-match; the
# load generator is bench/hub_load.py (Python asyncio, one process). Not part
# of the tests; loopback only; bounded (at most 5,000 devices, 600 s of
# writes, 120 s of grace).
#
#   ./bench/hub.sh                                  # 1,000 devices in 50 vaults, 50 pushers, 60 s
#   ./bench/hub.sh --vaults 5 --duration-s 30       # 200 devices a vault: a wider fan-out
#   ./bench/hub.sh --devices 200 --duration-s 10    # a smoke run
#
# Measured (see bench/hub_load.py for the exact accounting): change-to-
# notification latency p50 / p95 / p99 / max (a write's send -> every other
# device of the vault told by its feed), notifications lost, errors and
# conflicts; the hub's CPU over the write phase (/proc/<pid>/stat) and its
# RSS (before the feeds, sampled peak, VmHWM). Targets: none lost, p95 under
# 500 ms, RSS under 300 MB. The agent-to-agent latency through a hub is
# bench/watch.sh --stores hub.
# Results go to stdout and bench/results/hub-<date>.txt. The hx binary: $HX_BIN, else
# build/release/src/cli/hx, else build/gcc/src/cli/hx (RelWithDebInfo; the report says which).
set -euo pipefail
cd "$(dirname "$0")/.."
gen_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --devices|--pushers|--vaults|--interval-ms|--duration-s|--grace-s|--seed|--wait-ms)
      gen_args+=("$1" "$2"); shift 2 ;;
    *) echo "usage: $0 [--devices N] [--pushers N] [--vaults N] [--interval-ms MS] [--duration-s S]" \
            "[--grace-s S] [--seed N] [--wait-ms MS]" >&2; exit 2 ;;
  esac
done
. bench/hx_bin.sh
tmp=$(mktemp -d /tmp/hx-hub-bench-XXXXXX)
hub_pid=
cleanup() {
  if [ -n "$hub_pid" ]; then kill -TERM "$hub_pid" 2>/dev/null || true; wait "$hub_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p bench/results "$tmp/store"
out="bench/results/hub-$(date -u +%Y%m%dT%H%M%SZ).txt"
"$hx" serve --store "$tmp/store" --insecure-listen 127.0.0.1:0 --insecure-no-auth \
  >"$tmp/hub.out" 2>"$tmp/hub.err" &
hub_pid=$!
for _ in $(seq 600); do grep -q "listening on" "$tmp/hub.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^hx serve: listening on //p' "$tmp/hub.out")
[ -n "$url" ] || { echo "hx serve did not start:" >&2; cat "$tmp/hub.err" >&2; exit 1; }
port=${url##*:}
{
  echo "hx: $hx; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "hub: hx serve --store <folder> --insecure-listen 127.0.0.1:0 --insecure-no-auth (pid $hub_pid)"
  echo "generator: bench/hub_load.py ${gen_args[*]:-(defaults)}"
  python3 bench/hub_load.py --port "$port" --hub-pid "$hub_pid" "${gen_args[@]}"
  echo "hub metrics after the run:"
  curl -fsS "$url/metrics" | grep -E '^hx_hub_(open_connections|open_feeds) ' || true
} | tee "$out"
