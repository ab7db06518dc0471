// The scanner at 100,000 small files: a no-change scan (every file's stat
// matches the stat cache, nothing is read) and a first scan (every file is
// read, chunked and hashed), on 1 and 2 threads; and .hxignore matching.
//
//   ninja -C build hx_bench && build/hx_bench --benchmark_filter=Scan
//
// The corpus (100 folders of 1,000 files of 0-1 KiB, ~50 MB) is created
// once under $TMPDIR (default /tmp) and removed at exit; creating it takes
// a few seconds. Times include freeing each result (as a sync would), and
// the CPU column is the whole process's (all scan threads).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include "chunk/fastcdc.h"
#include "hash/blake3.h"
#include "scan/scanner.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

constexpr int kDirs = 100;
constexpr int kFilesPerDir = 1000;

class Corpus {
 public:
  Corpus() {
    std::string pattern = (fs::temp_directory_path() / "hx_scan_bench_XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    std::string content(1024, 'x');
    for (int d = 0; d < kDirs; ++d) {
      char dir[64];
      std::snprintf(dir, sizeof(dir), "top%02d/dir%03d", d % 10, d);
      fs::create_directories(root_ / dir);
      for (int f = 0; f < kFilesPerDir; ++f) {
        char name[64];
        std::snprintf(name, sizeof(name), "/file%04d.txt", f);
        const int size = (d * kFilesPerDir + f) * 7919 % 1025;
        content[0] = static_cast<char>('a' + f % 26);
        std::ofstream(root_ / (std::string(dir) + name), std::ios::binary)
            .write(content.data(), size);
      }
    }
  }
  ~Corpus() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

const Corpus& TheCorpus() {
  static const Corpus corpus;
  return corpus;
}

const FastCdc& Cdc() {
  static const FastCdc cdc =
      std::move(FastCdc::Create(ChunkerOptions{}, GearTable::Default())).value();
  return cdc;
}

const ChunkIdFn kBlake3Id = [](std::span<const std::uint8_t> bytes) { return Blake3Hash(bytes); };

ScanOptions Options(benchmark::State& state) {
  ScanOptions options;
  options.threads = static_cast<int>(state.range(0));
  // Far in the future: no file counts as racy, so the cache is complete.
  options.now_ns = std::int64_t{1} << 62;
  return options;
}

void BM_ScanNoChange100k(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  Result<ScanResult> first = ScanVault(corpus.root(), Options(state), {}, Cdc(), kBlake3Id);
  if (!first.ok()) {
    state.SkipWithError(first.error().ToShortString().c_str());
    return;
  }
  const StatCache cache = std::move(first->stat_changes.put);
  std::uint64_t hashed = 0;
  for (auto _ : state) {
    Result<ScanResult> result = ScanVault(corpus.root(), Options(state), cache, Cdc(), kBlake3Id);
    hashed += result->stats.files_hashed;
    benchmark::DoNotOptimize(result);
  }
  state.counters["files_hashed"] = static_cast<double>(hashed);
  state.SetItemsProcessed(state.iterations() * kDirs * kFilesPerDir);
}
BENCHMARK(BM_ScanNoChange100k)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_ScanFirst100k(benchmark::State& state) {
  const Corpus& corpus = TheCorpus();
  for (auto _ : state) {
    Result<ScanResult> result = ScanVault(corpus.root(), Options(state), {}, Cdc(), kBlake3Id);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * kDirs * kFilesPerDir);
}
BENCHMARK(BM_ScanFirst100k)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// Ten typical rules against 100,000 paths.
void BM_IgnoreMatch100k(benchmark::State& state) {
  const IgnoreRules rules = IgnoreRules::Parse(
      "*.log\n*.tmp\n.DS_Store\nnode_modules/\n/build/\n**/cache/**\ndocs/*.pdf\n!keep.log\n"
      "*.sw[op]\n.git/\n");
  std::vector<std::string> paths;
  for (int i = 0; i < 100'000; ++i) {
    char path[64];
    std::snprintf(path, sizeof(path), "top%02d/dir%03d/file%04d.txt", i % 10, i / 1000, i % 1000);
    paths.push_back(path);
  }
  for (auto _ : state) {
    int ignored = 0;
    for (const std::string& path : paths) {
      ignored += rules.Matches(path, false) ? 1 : 0;
    }
    benchmark::DoNotOptimize(ignored);
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(BM_IgnoreMatch100k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hx
