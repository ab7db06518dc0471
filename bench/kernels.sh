#!/usr/bin/env bash
# Kernel benchmark: every push-pipeline kernel of hx (BLAKE3 per backend,
# FastCDC, AEAD with both backends, zstd, Argon2id) and the peers they are
# judged against (b3sum with one thread, OpenSSL SHA-256), in one run on this
# machine. Results: docs/BENCHMARKS.md, "Kernels".
#   bench/kernels.sh            runs everything, prints a report; raw output in build/bench/kernels/
#   bench/kernels.sh --report   prints the report of the last run again
# Environment: HX_BENCH_REPS (repetitions per case, default 3; medians are
# reported), HX_BENCH_MIN_TIME (seconds per repetition, default 0.5),
# HX_BENCH_JOBS (build parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench/kernels
report_only=0
[[ ${1:-} == --report ]] && report_only=1

if [[ $report_only == 0 ]]; then
scripts/deps.sh bench
scripts/build.sh bench -j"${HX_BENCH_JOBS:-2}" hx_bench >/dev/null
mkdir -p "$out"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "uptime before: $(uptime)"
  lscpu | head -20
} >"$out/machine.txt"

# Only the kernels: hx_bench also holds the store, index, scan and repo
# benchmarks and the slow dedup measurement (BM_DedupAfterEdits).
filter='^BM_(Blake3|Sha256OpenSsl|FastCdcSplit|ChunkStream|AeadSeal|AeadOpen|SyntheticNonce|ZstdCompress|ZstdDecompress|Argon2id)(/|$)'
build/bench/hx_bench --benchmark_filter="$filter" \
  --benchmark_min_time="${HX_BENCH_MIN_TIME:-0.5}" \
  --benchmark_repetitions="${HX_BENCH_REPS:-3}" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/hx_bench.json" --benchmark_out_format=json >/dev/null

# b3sum reads a 1 GiB file from tmpfs (page-cache speed), single-threaded.
data=/dev/shm/hx-kernels-1g.bin
trap 'rm -f "$data"' EXIT
[[ -f $data ]] || head -c $((1 << 30)) /dev/urandom >"$data"
hyperfine --warmup 1 --runs 5 --export-json "$out/b3sum.json" \
  "b3sum --num-threads 1 $data" >/dev/null
b3sum --num-threads 1 --no-names "$data" >"$out/b3sum.txt"

# hx's BLAKE3 on the same file, the way b3sum reads it (a fresh mmap, so page
# faults are paid as b3sum pays them), and again from the already-mapped
# memory; CPU time of the process, median of 3, every backend. The digest
# must equal b3sum's.
cat >"$out/hash_file.cc" <<'CC'
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <span>
#include <string>
#include <vector>

#include "base/hex.h"
#include "hash/blake3.h"

namespace {
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
std::string Hash(hx::Blake3Backend backend, std::span<const std::uint8_t> data, double& seconds) {
  const double start = CpuSeconds();
  hx::Blake3Hasher hasher;
  hasher.SetBackendForTesting(backend);
  hasher.Update(data);
  const hx::Blake3Digest digest = hasher.Finalize();
  seconds = CpuSeconds() - start;
  return hx::ToHex(digest);
}
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return 1;
  const auto size = static_cast<std::size_t>(st.st_size);
  for (hx::Blake3Backend backend : hx::AvailableBlake3Backends()) {
    std::vector<double> mapped, memory;
    std::string digest;
    for (int rep = 0; rep < 3; ++rep) {
      void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) return 1;
      const std::span<const std::uint8_t> data(static_cast<const std::uint8_t*>(p), size);
      double seconds = 0;
      digest = Hash(backend, data, seconds);
      mapped.push_back(seconds);
      Hash(backend, data, seconds);
      memory.push_back(seconds);
      munmap(p, size);
    }
    std::printf("%s %s %.6f %.6f\n", std::string(hx::ToString(backend)).c_str(), digest.c_str(),
                Median(mapped), Median(memory));
  }
  return 0;
}
CC
g++ -std=c++20 -O2 -Isrc "$out/hash_file.cc" build/bench/src/hash/libhx_hash.a \
  build/bench/src/base/libhx_base.a -lcrypto -o "$out/hash_file"
"$out/hash_file" "$data" >"$out/hx_hash_file.txt"
echo "uptime after: $(uptime)" >>"$out/machine.txt"
fi

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
bench = json.load(open(f"{out}/hx_bench.json"))
peer = json.load(open(f"{out}/b3sum.json"))["results"][0]
GB = 1e9

# Medians of the repetitions (or the single run when there is one).
cases = {}
for b in bench["benchmarks"]:
    if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
        continue
    name = b.get("run_name", b["name"])
    cases[name] = b

def gbs(name):
    b = cases.get(name)
    return b["bytes_per_second"] / GB if b and "bytes_per_second" in b else None

print(open(f"{out}/machine.txt").read().rstrip())
print()
print("Throughput: CPU time of one thread, median of the repetitions (GB = 10^9 bytes)")
width = max(len(n) for n in cases)
for name, b in cases.items():
    if "bytes_per_second" in b:
        extra = f"  ratio {b['ratio']:.2f}" if "ratio" in b else ""
        print(f"  {name:<{width}}  {b['bytes_per_second'] / GB:7.3f} GB/s{extra}")
    else:
        unit = b.get("time_unit", "ns")
        print(f"  {name:<{width}}  {b['cpu_time']:9.1f} {unit} CPU per call")

size = 1 << 30
wall = peer["median"]
cpu = peer["user"] + peer["system"]
b3_wall = size / wall / GB
b3_cpu = size / cpu / GB
print()
print(f"b3sum --num-threads 1, 1 GiB in /dev/shm (hyperfine, 5 runs): "
      f"{b3_wall:.3f} GB/s wall (median {wall:.3f} s), {b3_cpu:.3f} GB/s CPU (user+sys mean {cpu:.3f} s)")

reference = open(f"{out}/b3sum.txt").read().split()[0]
b3sum_user = size / peer["user"] / GB
print(f"  (b3sum user time alone: {b3sum_user:.3f} GB/s; its system time is the page faults of the mapping)")
print()
print("hx BLAKE3 on the same 1 GiB file, CPU time, median of 3:")
file_rates = {}
for line in open(f"{out}/hx_hash_file.txt"):
    backend, digest, mapped, memory = line.split()
    ok = "digest = b3sum's" if digest == reference else "DIGEST DIFFERS FROM b3sum"
    file_rates[backend] = size / float(mapped) / GB
    print(f"  {backend:<9} fresh mmap {size / float(mapped) / GB:6.3f} GB/s "
          f"({file_rates[backend] / b3_cpu:4.2f}x b3sum CPU), "
          f"mapped memory {size / float(memory) / GB:6.3f} GB/s  {ok}")

print()
print("Ratios, 1 MiB in-cache inputs (b3sum: its user time, i.e. hashing without the page faults):")
sha = gbs("BM_Sha256OpenSsl/1048576")
for name in sorted(n for n in cases if n.startswith("BM_Blake3/") and n.endswith("/1048576")):
    g = gbs(name)
    line = f"  {name:<28} {g / b3sum_user:5.2f}x b3sum"
    if sha:
        line += f"  {g / sha:5.2f}x OpenSSL SHA-256"
    print(line)

# The push pipeline per byte of new data: chunking, chunk id (keyed BLAKE3),
# zstd level 1 (the default), synthetic nonce (keyed BLAKE3) and the seal.
best_b3 = max(gbs(n) for n in cases if n.startswith("BM_Blake3/") and n.endswith("/1048576"))
stages = {
    "FastCDC (BM_FastCdcSplit)": gbs("BM_FastCdcSplit"),
    "chunk id, BLAKE3 1 MiB (best backend)": best_b3,
    "zstd level 1 compress, text": gbs("BM_ZstdCompress/level:1/text:1"),
    "zstd level 1 compress, random": gbs("BM_ZstdCompress/level:1/text:0"),
    "synthetic nonce (BM_SyntheticNonce)": gbs("BM_SyntheticNonce"),
    "AEAD seal 1 MiB, openssl": gbs("BM_AeadSeal/openssl:1/size:1048576"),
}
print()
print("Push pipeline stages (GB/s of input, one thread):")
for name, g in stages.items():
    print(f"  {name:<40} {g:7.3f}" if g else f"  {name:<40}     n/a")
slowest = min((g, n) for n, g in stages.items() if g)
print(f"Slowest: {slowest[1]} at {slowest[0]:.3f} GB/s")
PY
