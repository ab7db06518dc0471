// The local index at 100,000 paths: what a no-change sync pays to load its
// state, and what a sync pays to store a new one.
//
//   ninja -C build hx_bench && build/hx_bench --benchmark_filter=Index
//
// The database lives in a fresh directory under $TMPDIR (default /tmp).
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include "index/index.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

constexpr int kPaths = 100'000;
constexpr char kNode[] = "0123456789abcdef0123456789abcdef";

ObjectId IdFor(int i, int salt) {
  ObjectId id{};
  for (std::size_t b = 0; b < id.size(); ++b) {
    id[b] = static_cast<std::uint8_t>((i * 2654435761u + b * 97 + salt) >> (b % 4));
  }
  return id;
}

std::string PathFor(int i) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "projects/dir%03d/file%06d.txt", i / 1000, i);
  return buffer;
}

// Files of one chunk each (a 0-8 KiB corpus), one device in the vectors.
EntryMap MakeBase(int salt) {
  EntryMap base;
  for (int i = 0; i < kPaths; ++i) {
    Entry entry;
    entry.size = static_cast<std::uint64_t>(i % 8192) + 1;
    entry.chunks.push_back({IdFor(i, salt), entry.size});
    entry.mtime_ns = 1'700'000'000'000'000'000 + i;
    entry.vv = VersionVector(std::map<std::string, std::uint64_t>{{kNode, 1 + i % 5}});
    base.emplace_hint(base.end(), PathFor(i), std::move(entry));
  }
  return base;
}

StatCache MakeStatCache() {
  StatCache cache;
  for (int i = 0; i < kPaths; ++i) {
    StatCacheEntry entry;
    entry.stat = {static_cast<std::uint64_t>(i % 8192) + 1, 1'700'000'000'000'000'000 + i,
                  1'700'000'000'000'000'000 + i, 1000000u + i, 0100644};
    entry.chunks.push_back({IdFor(i, 0), entry.stat.size});
    cache.emplace(PathFor(i), std::move(entry));
  }
  return cache;
}

class BenchIndex {
 public:
  BenchIndex() {
    std::string pattern = (fs::temp_directory_path() / "hx_index_bench_XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    index_ = std::move(Index::Open(dir_ / "index.sqlite")).value();
  }
  ~BenchIndex() {
    index_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  Index& index() { return *index_; }

 private:
  fs::path dir_;
  std::unique_ptr<Index> index_;
};

void Check(const Status& status, benchmark::State& state) {
  if (!status.ok()) {
    state.SkipWithError(status.error().ToShortString().c_str());
  }
}

void BM_IndexLoadBase100k(benchmark::State& state) {
  BenchIndex bench;
  {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(txn->ReplaceBase(MakeBase(0)), state);
    Check(txn->Commit(), state);
  }
  for (auto _ : state) {
    Result<EntryMap> base = bench.index().LoadBase();
    benchmark::DoNotOptimize(base);
    // Freeing the map is the caller's cost, not the load's.
    state.PauseTiming();
    base = EntryMap();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kPaths);
}
BENCHMARK(BM_IndexLoadBase100k)->Unit(benchmark::kMillisecond);

void BM_IndexLoadStatCache100k(benchmark::State& state) {
  BenchIndex bench;
  {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(txn->ReplaceStatCache(MakeStatCache()), state);
    Check(txn->Commit(), state);
  }
  for (auto _ : state) {
    Result<StatCache> cache = bench.index().LoadStatCache();
    benchmark::DoNotOptimize(cache);
    state.PauseTiming();
    cache = StatCache();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kPaths);
}
BENCHMARK(BM_IndexLoadStatCache100k)->Unit(benchmark::kMillisecond);

// Rewriting every row (a first sync, or a rebuild), committed durably.
void BM_IndexReplaceBase100k(benchmark::State& state) {
  BenchIndex bench;
  const EntryMap base = MakeBase(0);
  for (auto _ : state) {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(txn->ReplaceBase(base), state);
    Check(txn->Commit(), state);
  }
  state.SetItemsProcessed(state.iterations() * kPaths);
}
BENCHMARK(BM_IndexReplaceBase100k)->Unit(benchmark::kMillisecond);

void BM_IndexReplaceStatCache100k(benchmark::State& state) {
  BenchIndex bench;
  const StatCache cache = MakeStatCache();
  for (auto _ : state) {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(txn->ReplaceStatCache(cache), state);
    Check(txn->Commit(), state);
  }
  state.SetItemsProcessed(state.iterations() * kPaths);
}
BENCHMARK(BM_IndexReplaceStatCache100k)->Unit(benchmark::kMillisecond);

// A sync that changed 1% of the paths: the diff walk plus 1,000 row writes.
void BM_IndexUpdateBase1Percent(benchmark::State& state) {
  BenchIndex bench;
  const EntryMap a = MakeBase(0);
  EntryMap b = a;
  int n = 0;
  for (auto& [path, entry] : b) {
    if (n++ % 100 == 0) {
      entry.chunks[0].id[0] ^= 1;
    }
  }
  {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(txn->ReplaceBase(a), state);
    Check(txn->Commit(), state);
  }
  bool at_a = true;
  for (auto _ : state) {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(at_a ? txn->UpdateBase(a, b) : txn->UpdateBase(b, a), state);
    Check(txn->Commit(), state);
    at_a = !at_a;
  }
}
BENCHMARK(BM_IndexUpdateBase1Percent)->Unit(benchmark::kMillisecond);

// Dedup lookups of a push's chunk ids against 100,000 indexed objects, half
// of them present.
void BM_IndexHasObjects100k(benchmark::State& state) {
  BenchIndex bench;
  std::vector<ObjectLocation> locations(kPaths);
  std::vector<ObjectId> queries;
  for (int i = 0; i < kPaths; ++i) {
    locations[i].id = IdFor(i, 0);
    locations[i].blob_id = std::string(63, 'a') + static_cast<char>('a' + i / 20000);
    locations[i].offset = static_cast<std::uint64_t>(i) * 100;
    locations[i].length = 100;
    locations[i].raw_length = 80;
    queries.push_back(IdFor(i, i % 2));
  }
  {
    Result<Index::Transaction> txn = bench.index().Begin();
    Check(txn->AddObjects(locations), state);
    Check(txn->Commit(), state);
  }
  for (auto _ : state) {
    Result<std::vector<bool>> found = bench.index().HasObjects(queries);
    benchmark::DoNotOptimize(found);
  }
  state.SetItemsProcessed(state.iterations() * kPaths);
}
BENCHMARK(BM_IndexHasObjects100k)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hx
