// Folder store costs: what one durable write costs on the disk at hand (the
// fsyncs dominate, which is why hx packs small objects into blobs), reads,
// and listing.
//
//   cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
//   ninja -C build-rel hx_bench && build-rel/hx_bench --benchmark_filter='Store'
//
// The folder lives in $HX_BENCH_DIR, else /tmp (so: a real disk, unlike the
// tests, which prefer a tmpfs).
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include <benchmark/benchmark.h>

#include "store/folder_store.h"
#include "store/memory_store.h"
#include "store/store_test_util.h"

namespace hx {
namespace {

std::unique_ptr<store_testing::TempFolder> BenchFolder() {
  const char* dir = std::getenv("HX_BENCH_DIR");
  ::setenv("HX_TEST_TMPDIR", dir != nullptr ? dir : "/tmp", /*overwrite=*/1);
  return std::make_unique<store_testing::TempFolder>();
}

std::unique_ptr<FolderStore> OpenFolder(const store_testing::TempFolder& folder, bool sync) {
  return FolderStore::Open(store_testing::FolderTarget(folder.path()),
                           FolderStoreOptions{.sync = sync})
      .value();
}

std::string KeyFor(std::int64_t i) {
  char key[40];
  std::snprintf(key, sizeof(key), "blobs/%02x/%08llx", static_cast<unsigned>(i & 0xff),
                static_cast<unsigned long long>(i));
  return key;
}

// Args: object size, sync (0/1).
void BM_StoreFolderPut(benchmark::State& state) {
  const auto folder = BenchFolder();
  const auto store = OpenFolder(*folder, state.range(1) != 0);
  const Bytes bytes = store_testing::PatternBytes(static_cast<std::size_t>(state.range(0)), 1);
  std::int64_t i = 0;
  for (auto _ : state) {
    if (!store->Put(KeyFor(i++ % 1024), bytes).ok()) state.SkipWithError("put failed");
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StoreFolderPut)
    ->Args({4096, 0})
    ->Args({4096, 1})
    ->Args({4 << 20, 0})
    ->Args({4 << 20, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_StoreFolderPutIfAbsent(benchmark::State& state) {
  const auto folder = BenchFolder();
  const auto store = OpenFolder(*folder, /*sync=*/true);
  const Bytes bytes = store_testing::PatternBytes(4096, 2);
  std::int64_t i = 0;
  for (auto _ : state) {
    if (!store->PutIfAbsent(KeyFor(i++), bytes).ok()) state.SkipWithError("create failed");
  }
}
BENCHMARK(BM_StoreFolderPutIfAbsent)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Arg: object size. Reads a warm (page-cached) object.
void BM_StoreFolderGet(benchmark::State& state) {
  const auto folder = BenchFolder();
  const auto store = OpenFolder(*folder, /*sync=*/false);
  const Bytes bytes = store_testing::PatternBytes(static_cast<std::size_t>(state.range(0)), 3);
  if (!store->Put("k", bytes).ok()) state.SkipWithError("put failed");
  for (auto _ : state) {
    auto got = store->Get("k", std::numeric_limits<std::uint64_t>::max());
    benchmark::DoNotOptimize(got);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StoreFolderGet)->Arg(4096)->Arg(4 << 20)->Unit(benchmark::kMicrosecond);

// Arg: number of objects, spread over 256 directories as blobs are.
void BM_StoreFolderList(benchmark::State& state) {
  const auto folder = BenchFolder();
  const auto store = OpenFolder(*folder, /*sync=*/false);
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    if (!store->Put(KeyFor(i), Bytes{}).ok()) state.SkipWithError("put failed");
  }
  for (auto _ : state) {
    auto listed = store->List("blobs/");
    if (!listed.ok() || listed->size() != static_cast<std::size_t>(state.range(0))) {
      state.SkipWithError("list failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StoreFolderList)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_StoreMemoryPut(benchmark::State& state) {
  MemoryStore store;
  const Bytes bytes = store_testing::PatternBytes(4096, 4);
  std::int64_t i = 0;
  for (auto _ : state) {
    if (!store.Put(KeyFor(i++ % 1024), bytes).ok()) state.SkipWithError("put failed");
  }
}
BENCHMARK(BM_StoreMemoryPut);

}  // namespace
}  // namespace hx
