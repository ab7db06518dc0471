// Repo kernels: the tree codec per entry (a push encodes, a pull decodes one
// tree per changed directory), BuildTrees over a 100,000-file vault, and
// object seal/open of a 1 MiB chunk (compressible text and random bytes).
// Run: hx_bench --benchmark_filter='Tree|SealObject|OpenObject'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "repo/object_codec.h"
#include "repo/tree.h"

namespace {

const std::string kNode = "0123456789abcdef0123456789abcdef";

hx::Entry FileEntry(std::uint64_t i) {
  hx::Entry entry;
  entry.kind = hx::EntryKind::kFile;
  entry.size = 4096 + i;
  hx::ObjectId id{};
  for (int b = 0; b < 8; ++b) id[b] = static_cast<std::uint8_t>(i >> (8 * b));
  entry.chunks = {hx::ChunkRef{id, entry.size}};
  entry.mtime_ns = 1700000000000000000 + static_cast<std::int64_t>(i);
  entry.vv = hx::VersionVector({{kNode, 1 + i % 5}});
  return entry;
}

hx::Tree FlatTree(std::size_t files) {
  hx::Tree tree;
  for (std::size_t i = 0; i < files; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "file-%08zu.txt", i);
    tree.entries.push_back(hx::TreeEntry{name, FileEntry(i), std::nullopt});
  }
  return tree;
}

void BM_EncodeTree(benchmark::State& state) {
  const hx::Tree tree = FlatTree(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto bytes = hx::EncodeTree(tree);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeTree)->Arg(10000);

void BM_DecodeTree(benchmark::State& state) {
  const std::string bytes = *hx::EncodeTree(FlatTree(static_cast<std::size_t>(state.range(0))));
  for (auto _ : state) {
    auto tree = hx::DecodeTree(bytes);
    benchmark::DoNotOptimize(tree);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_DecodeTree)->Arg(10000);

// 1,000 directories of 100 files: corpus B's shape.
void BM_BuildTrees(benchmark::State& state) {
  hx::EntryMap entries;
  for (std::uint64_t d = 0; d < 1000; ++d) {
    const std::string dir = "dir-" + std::to_string(d);
    hx::Entry dir_entry;
    dir_entry.kind = hx::EntryKind::kDir;
    dir_entry.vv = hx::VersionVector({{kNode, 1}});
    entries[dir] = dir_entry;
    for (std::uint64_t f = 0; f < 100; ++f) {
      entries[dir + "/file-" + std::to_string(f)] = FileEntry(d * 100 + f);
    }
  }
  const hx::VaultContext context = [] {
    hx::VaultContext c;
    c.vault_id = "000102030405060708090a0b0c0d0e0f";
    c.keys = hx::VaultKeys::Derive(hx::SecretKey());
    return c;
  }();
  const hx::ObjectIdFn ids = hx::TreeIdFn(context);
  for (auto _ : state) {
    auto built = hx::BuildTrees(entries, ids);
    benchmark::DoNotOptimize(built);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * entries.size()));
}
BENCHMARK(BM_BuildTrees)->Unit(benchmark::kMillisecond);

hx::VaultContext BenchContext() {
  hx::VaultContext c;
  c.vault_id = "000102030405060708090a0b0c0d0e0f";
  c.keys = hx::VaultKeys::Derive(hx::SecretKey::Random());
  return c;
}

// Arg: 0 text-like (compresses ~4x), 1 random (stored raw).
std::vector<std::uint8_t> Chunk(std::int64_t kind) {
  std::vector<std::uint8_t> data(1 << 20);
  if (kind == 1) {
    hx::RandomBytes(data);
  } else {
    std::uint32_t x = 1;
    static const char kWords[][8] = {"sync ", "vault ", "tree ", "chunk ", "the ", "of ", "\n"};
    for (std::size_t i = 0; i < data.size();) {
      x = x * 1103515245 + 12345;
      for (const char* w = kWords[(x >> 16) % 7]; *w != 0 && i < data.size(); ++w) data[i++] = *w;
    }
  }
  return data;
}

void BM_SealObject(benchmark::State& state) {
  const hx::VaultContext context = BenchContext();
  const auto data = Chunk(state.range(0));
  const hx::ObjectId id = hx::ComputeObjectId(context, hx::ObjectKind::kChunk, data);
  std::size_t sealed_size = 0;
  for (auto _ : state) {
    auto sealed = hx::SealObject(context, hx::ObjectKind::kChunk, id, data);
    sealed_size = sealed->size();
    benchmark::DoNotOptimize(sealed);
  }
  state.SetLabel(std::string(state.range(0) == 0 ? "text" : "random") + " sealed " +
                 std::to_string(sealed_size));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_SealObject)->Arg(0)->Arg(1);

void BM_OpenObject(benchmark::State& state) {
  const hx::VaultContext context = BenchContext();
  const auto data = Chunk(state.range(0));
  const hx::ObjectId id = hx::ComputeObjectId(context, hx::ObjectKind::kChunk, data);
  const auto sealed = *hx::SealObject(context, hx::ObjectKind::kChunk, id, data);
  for (auto _ : state) {
    auto opened = hx::OpenObject(context, hx::ObjectKind::kChunk, id, data.size(), sealed);
    benchmark::DoNotOptimize(opened);
  }
  state.SetLabel(state.range(0) == 0 ? "text" : "random");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_OpenObject)->Arg(0)->Arg(1);

}  // namespace
