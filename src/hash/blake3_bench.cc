// BLAKE3 throughput per backend, single-threaded, on inputs of 4 KiB, 64
// KiB and 1 MiB (one Update and Finalize per iteration), and SHA-256
// (OpenSSL) on 1 MiB for comparison. Compare with b3sum on the same
// machine: `b3sum --num-threads 1` over a large file in /dev/shm.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "hash/blake3.h"
#include "hash/sha256.h"

namespace hx {
namespace {

std::vector<std::uint8_t> BenchInput(std::size_t length) {
  std::vector<std::uint8_t> input(length);
  for (std::size_t i = 0; i < length; ++i) input[i] = static_cast<std::uint8_t>(i * 31 + 7);
  return input;
}

void BM_Blake3(benchmark::State& state, Blake3Backend backend) {
  const std::vector<std::uint8_t> input = BenchInput(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Blake3Hasher hasher;
    hasher.SetBackendForTesting(backend);
    hasher.Update(input);
    benchmark::DoNotOptimize(hasher.Finalize());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_Sha256OpenSsl(benchmark::State& state) {
  const std::vector<std::uint8_t> input = BenchInput(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(input));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256OpenSsl)->Arg(1 << 20);

const bool kBlake3Registered = [] {
  for (Blake3Backend backend : AvailableBlake3Backends()) {
    benchmark::RegisterBenchmark(("BM_Blake3/" + std::string(ToString(backend))).c_str(), BM_Blake3,
                                 backend)
        ->Arg(4 << 10)
        ->Arg(64 << 10)
        ->Arg(1 << 20);
  }
  return true;
}();

}  // namespace
}  // namespace hx
