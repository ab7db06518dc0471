// zstd kernels: compression at levels 1 and 3 (and -1, 2 for the choice of
// the default) on text-like and on random data, and decompression.
// Run: hx_bench --benchmark_filter=Zstd
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "compress/zstd.h"

namespace {

constexpr std::size_t kInputSize = 4 << 20;

// Source-code-like text: words from a small vocabulary with varying
// identifiers and numbers; compresses ~3-5x, like typical documents.
std::vector<std::uint8_t> TextLike(std::size_t n) {
  static constexpr std::string_view kWords[] = {
      "return ", "const ", "std::vector<", "uint8_t> ", "if (", "status.ok()", ") {\n",
      "}\n", "  ", "for (", "auto& ", "entry", " : ", "entries", ";\n", "// the ",
      "object ", "chunk ", "snapshot ", "vault", "= ", "nullptr", "size()", "0x"};
  std::vector<std::uint8_t> out;
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  while (out.size() < n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::string_view w = kWords[x % std::size(kWords)];
    out.insert(out.end(), w.begin(), w.end());
    if ((x >> 20) % 5 == 0) {
      const std::string number = std::to_string((x >> 32) % 100000);
      out.insert(out.end(), number.begin(), number.end());
    }
  }
  out.resize(n);
  return out;
}

std::vector<std::uint8_t> Random(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  std::uint64_t x = 0x2545f4914f6cdd1dull;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return out;
}

const std::vector<std::uint8_t>& Input(bool text) {
  static const std::vector<std::uint8_t> text_input = TextLike(kInputSize);
  static const std::vector<std::uint8_t> random_input = Random(kInputSize);
  return text ? text_input : random_input;
}

// Args: level, text (1) or random (0).
void BM_ZstdCompress(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  const auto& input = Input(state.range(1) == 1);
  std::size_t compressed = 0;
  for (auto _ : state) {
    auto frame = hx::ZstdCompress(input, level);
    compressed = frame->size();
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.counters["ratio"] = static_cast<double>(input.size()) / static_cast<double>(compressed);
}
BENCHMARK(BM_ZstdCompress)
    ->ArgNames({"level", "text"})
    ->ArgsProduct({{-1, 1, 2, 3}, {1, 0}})
    ->Unit(benchmark::kMillisecond);

void BM_ZstdDecompress(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  const auto& input = Input(state.range(1) == 1);
  const auto frame = hx::ZstdCompress(input, level).value();
  for (auto _ : state) {
    auto out = hx::ZstdDecompress(frame, input.size());
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_ZstdDecompress)
    ->ArgNames({"level", "text"})
    ->ArgsProduct({{1, 3}, {1, 0}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
