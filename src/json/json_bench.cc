// Throughput of the canonical writer and the strict reader on a document
// shaped like a large manifest: an array of file records.
#include <benchmark/benchmark.h>

#include <string>

#include "json/canonical_json.h"

namespace hx {
namespace {

nlohmann::json ManifestLike(int files) {
  nlohmann::json entries = nlohmann::json::array();
  for (int i = 0; i < files; ++i) {
    entries.push_back({{"name", "dir/sub/file-" + std::to_string(i) + "-caf\xC3\xA9.txt"},
                       {"size", 1000003 * i},
                       {"mtime_ms", 1700000000000 + i},
                       {"mode", 420},
                       {"content", "b3" + std::string(62, 'a')},
                       {"vv", {{"node-a", i}, {"node-b", 3}}}});
  }
  return {{"format", 1}, {"entries", std::move(entries)}};
}

void BM_WriteCanonicalJson(benchmark::State& state) {
  const nlohmann::json value = ManifestLike(static_cast<int>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    Result<std::string> text = WriteCanonicalJson(value);
    bytes = text->size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_WriteCanonicalJson)->Arg(1000);

void BM_ParseJson(benchmark::State& state) {
  const std::string text = *WriteCanonicalJson(ManifestLike(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    Result<nlohmann::json> value = ParseJson(text);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseJson)->Arg(1000);

void BM_ParseCanonicalJson(benchmark::State& state) {
  const std::string text = *WriteCanonicalJson(ManifestLike(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    Result<nlohmann::json> value = ParseCanonicalJson(text);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseCanonicalJson)->Arg(1000);

// For comparison: nlohmann's own (lenient) parser on the same text.
void BM_NlohmannParse(benchmark::State& state) {
  const std::string text = *WriteCanonicalJson(ManifestLike(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    benchmark::DoNotOptimize(value);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NlohmannParse)->Arg(1000);

}  // namespace
}  // namespace hx
