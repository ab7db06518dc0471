// FastCDC throughput and dedup quality.
//
//   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   ninja -C build-rel hx_bench && build-rel/hx_bench --benchmark_filter='FastCdc|ChunkStream|Dedup'
//
// BM_DedupAfterEdits is the measurement behind the default normalization
// level: it chunks pseudo-random data, applies random small edits, chunks
// again and reports the fraction of the edited bytes that fall in chunks
// already present (dedup), the mean and standard deviation of chunk sizes,
// and the fraction of chunks forced at max_size.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "chunk/chunk_stream.h"
#include "chunk/chunk_test_util.h"
#include "chunk/fastcdc.h"

namespace hx {
namespace {

constexpr std::size_t kInputSize = std::size_t{64} << 20;

const std::vector<std::uint8_t>& Input() {
  static const std::vector<std::uint8_t> data = testing::RandomBytes(1, kInputSize);
  return data;
}

FastCdc DefaultCdc() { return std::move(FastCdc::Create(ChunkerOptions{}, GearTable::Default())).value(); }

void BM_FastCdcSplit(benchmark::State& state) {
  const FastCdc cdc = DefaultCdc();
  const std::vector<std::uint8_t>& data = Input();
  std::size_t chunks = 0;
  for (auto _ : state) {
    std::size_t offset = 0;
    chunks = 0;
    while (offset < data.size()) {
      offset += cdc.FindCut(std::span(data).subspan(offset), /*at_eof=*/true);
      ++chunks;
    }
    benchmark::DoNotOptimize(offset);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
  state.counters["chunks"] = static_cast<double>(chunks);
}
BENCHMARK(BM_FastCdcSplit)->Unit(benchmark::kMillisecond);

// The same through ChunkStream with 1 MiB reads from memory: adds the copy
// into the stream's buffer, as reading a file would.
void BM_ChunkStream(benchmark::State& state) {
  const FastCdc cdc = DefaultCdc();
  const std::vector<std::uint8_t>& data = Input();
  ChunkStream stream(cdc, nullptr);
  for (auto _ : state) {
    std::size_t pos = 0;
    stream.Reset([&](std::span<std::uint8_t> buffer) -> Result<std::size_t> {
      const std::size_t n = std::min({buffer.size(), std::size_t{1} << 20, data.size() - pos});
      std::memcpy(buffer.data(), data.data() + pos, n);
      pos += n;
      return n;
    });
    while (true) {
      Result<std::optional<Chunk>> chunk = stream.Next();
      if (!chunk.ok() || !chunk->has_value()) break;
      benchmark::DoNotOptimize((*chunk)->data.data());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_ChunkStream)->Unit(benchmark::kMillisecond);

// Random inserts, deletes and overwrites of 1..64 bytes.
std::vector<std::uint8_t> Edit(const std::vector<std::uint8_t>& base, int edits,
                               std::uint64_t seed) {
  std::vector<std::uint8_t> out = base;
  std::uint64_t s = seed;
  for (int e = 0; e < edits; ++e) {
    const std::size_t pos = testing::SplitMix64(s) % (out.size() - 64);
    const std::size_t len = 1 + testing::SplitMix64(s) % 64;
    const auto at = out.begin() + static_cast<std::ptrdiff_t>(pos);
    switch (testing::SplitMix64(s) % 3) {
      case 0: {
        const std::vector<std::uint8_t> bytes = testing::RandomBytes(testing::SplitMix64(s), len);
        out.insert(at, bytes.begin(), bytes.end());
        break;
      }
      case 1:
        out.erase(at, at + static_cast<std::ptrdiff_t>(len));
        break;
      default:
        for (std::size_t i = 0; i < len; ++i) out[pos + i] ^= 0xa5;
        break;
    }
  }
  return out;
}

// Args: normalization level, log2(avg size), edits per round, avg / min.
void BM_DedupAfterEdits(benchmark::State& state) {
  ChunkerOptions options;
  options.normalization_level = static_cast<int>(state.range(0));
  options.avg_size = std::size_t{1} << state.range(1);
  options.min_size = options.avg_size / static_cast<std::size_t>(state.range(3));
  options.max_size = options.avg_size * 4;
  const FastCdc cdc = std::move(FastCdc::Create(options, GearTable::Default())).value();
  const std::vector<std::uint8_t>& base = Input();
  const std::vector<ChunkSpan> base_chunks = SplitIntoChunks(cdc, base);
  std::unordered_set<std::string_view> known;
  double sum = 0, sum_sq = 0;
  std::size_t forced = 0;
  for (const ChunkSpan& c : base_chunks) {
    known.emplace(reinterpret_cast<const char*>(base.data()) + c.offset, c.length);
    sum += static_cast<double>(c.length);
    sum_sq += static_cast<double>(c.length) * static_cast<double>(c.length);
    forced += c.length == options.max_size;
  }
  const double n = static_cast<double>(base_chunks.size());
  double dedup_sum = 0;
  int rounds = 0;
  for (auto _ : state) {
    const std::vector<std::uint8_t> edited =
        Edit(base, static_cast<int>(state.range(2)), 1000 + static_cast<std::uint64_t>(rounds));
    std::size_t reused = 0;
    for (const ChunkSpan& c : SplitIntoChunks(cdc, edited)) {
      reused += known.contains(
                    std::string_view(reinterpret_cast<const char*>(edited.data()) + c.offset,
                                     c.length))
                    ? c.length
                    : 0;
    }
    dedup_sum += static_cast<double>(reused) / static_cast<double>(edited.size());
    ++rounds;
  }
  state.counters["dedup"] = dedup_sum / rounds;
  state.counters["mean_kib"] = sum / n / 1024;
  state.counters["stddev_kib"] = std::sqrt(sum_sq / n - (sum / n) * (sum / n)) / 1024;
  // The size-biased mean E[L^2]/E[L]: the expected length of the chunk a
  // random byte falls in, i.e. roughly what one small edit costs to upload.
  // Deterministic, so it separates close settings better than `dedup`.
  state.counters["edit_cost_kib"] = sum_sq / sum / 1024;
  state.counters["forced_pct"] = 100.0 * static_cast<double>(forced) / n;
}
// avg 1 MiB: only ~55 chunks in 64 MiB, so more rounds of 16 edits.
BENCHMARK(BM_DedupAfterEdits)
    ->ArgsProduct({{0, 1, 2, 3}, {20}, {16}, {4}})
    ->ArgsProduct({{2}, {20}, {16}, {2, 8}})
    ->Iterations(12)
    ->Unit(benchmark::kMillisecond);
// avg 8 KiB: ~7,000 chunks, 1,000 edits per round.
BENCHMARK(BM_DedupAfterEdits)
    ->ArgsProduct({{0, 1, 2, 3}, {13}, {1000}, {4}})
    ->ArgsProduct({{2}, {13}, {1000}, {2, 8}})
    ->Iterations(4)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hx
