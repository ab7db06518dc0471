#!/usr/bin/env bash
# Kernel benchmark: every push-pipeline kernel of hx (BLAKE3 per backend,
# FastCDC, AEAD, zstd) and the peers they are judged against (b3sum with one
# thread, OpenSSL SHA-256), measured in one run on this machine.
#   bench/kernels.sh            prints a table; raw output in build/bench/kernels/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
scripts/build.sh bench hx_bench hx >/dev/null
out=build/bench/kernels
mkdir -p "$out"

build/bench/hx_bench --benchmark_min_time=0.5 --benchmark_format=json \
  --benchmark_out="$out/hx_bench.json" --benchmark_out_format=json >/dev/null

# b3sum reads a 1 GiB file from tmpfs (page-cache speed), single-threaded.
data=/dev/shm/hx-kernels-1g.bin
[[ -f $data ]] || head -c $((1 << 30)) /dev/urandom >"$data"
hyperfine --warmup 1 --runs 5 --export-json "$out/b3sum.json" \
  "b3sum --num-threads 1 $data" "build/bench/src/cli/hx hash $data" >/dev/null 2>&1 || \
  hyperfine --warmup 1 --runs 5 --export-json "$out/b3sum.json" "b3sum --num-threads 1 $data" >/dev/null
rm -f "$data"

python3 - "$out" <<'PY'
import json, sys, platform, datetime
out = sys.argv[1]
bench = json.load(open(f"{out}/hx_bench.json"))
peers = json.load(open(f"{out}/b3sum.json"))
GB = 1e9
rows = []
for b in bench["benchmarks"]:
    if b.get("run_type") == "aggregate" or "bytes_per_second" not in b:
        continue
    rows.append((b["name"], b["bytes_per_second"] / GB))
for r in peers["results"]:
    rows.append((r["command"].split(" /dev")[0] + " (1 GiB file, hyperfine median)", (1 << 30) / r["median"] / GB))
ctx = bench["context"]
print(f"# kernels on {platform.node()} {datetime.date.today()} ({ctx.get('num_cpus')} cpus, {ctx.get('mhz_per_cpu')} MHz)")
width = max(len(n) for n, _ in rows)
for name, gbs in rows:
    print(f"{name:<{width}}  {gbs:7.3f} GB/s")
b3 = [g for n, g in rows if n.startswith("b3sum")]
if b3:
    print()
    for name, gbs in rows:
        if name.startswith("BM_Blake3") and "1048576" in name:
            print(f"{name:<{width}}  {gbs / b3[0]:6.2f}x b3sum --num-threads 1")
PY
