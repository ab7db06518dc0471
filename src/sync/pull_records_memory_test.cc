// The heap of two things a first pull of 100,000 objects holds, each
// measured alone (heap_peak_test_util.h, at the size the allocator gave):
// the fetch journal's record of the objects fetched (fetch_journal_records.h,
// held through the apply) and the decoding of the snapshot that lists them
// (meta/snapshot.h, the pull's peak since the plan's items point at the
// states' entries: docs/BENCHMARKS.md "Fetch journal record (session 7)" and
// "Snapshot body without a document (session 8)").
#include <cstdio>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "meta/meta_test_util.h"
#include "meta/snapshot.h"
#include "store/memory_store.h"
#include "sync/fetch_journal_records.h"
#include "sync/heap_peak_test_util.h"

namespace hx::testing {
namespace {

constexpr std::size_t kObjects = 100'000;

ObjectId RandomId(std::mt19937_64& rng) {
  ObjectId id;
  for (std::uint8_t& b : id) b = static_cast<std::uint8_t>(rng());
  return id;
}

// 48 bytes a record, and the tail, its sorted copy while merged, the fence
// and the last block's slack: 56 bytes an object at most. The hash map it
// replaced held 85.8 (a node of 72, its bucket, the rehashes) and fails this.
TEST(PullRecordsMemoryTest, TheJournalsRecordOf100000ObjectsTakesAtMost56BytesEach) {
  std::mt19937_64 rng(15);
  std::vector<ObjectId> ids(kObjects);
  for (ObjectId& id : ids) id = RandomId(rng);
  JournalRecords records;
  const HeapPeak heap;
  for (std::size_t i = 0; i < kObjects; ++i) {
    records.Put(ids[i], {1, 4096, static_cast<std::uint64_t>(i) * 4144});
  }
  std::printf("journal record: %.1f bytes an object at the peak\n",
              static_cast<double>(heap.peak_bytes()) / kObjects);
  EXPECT_LE(heap.peak_bytes(), static_cast<std::int64_t>(kObjects * 56));
  EXPECT_EQ(records.size(), kObjects);
}

// A snapshot listing 100,000 objects in 20 packs (8.8 MiB zipped): decoding
// it holds the body's plaintext (8.7 MiB) and the locations read from it
// (9.2 MiB, sized once, and each one's copy of its blob id, 6.9 MiB), not a
// JSON document of the body: 25.2 MiB. With the document (~28 MiB) it was
// 63.5 MiB (68.0 before the plaintext was freed once parsed and the
// locations sized once).
TEST(PullRecordsMemoryTest, DecodingASnapshotOf100000ObjectsHoldsItsTextAndTheLocations) {
  const VaultContext ctx = meta_testing::TestContext();
  std::mt19937_64 rng(16);
  Snapshot snapshot;
  snapshot.vault_id = ctx.vault_id;
  snapshot.root = RandomId(rng);
  snapshot.created_ms = 1'767'225'600'000;
  snapshot.snapshot_id = SnapshotId(snapshot.root, snapshot.created_ms);
  snapshot.author = std::string(meta_testing::kNodeA);
  snapshot.seq = 1;
  snapshot.key_fingerprint = ctx.key_fingerprint;
  snapshot.summary.added = kObjects;
  snapshot.summary.files = kObjects;
  for (std::size_t i = 0; i < kObjects; ++i) {
    ObjectLocation location;
    location.id = RandomId(rng);
    char blob[65];
    std::snprintf(blob, sizeof(blob), "%064zx", i % 20 + 1);
    location.blob_id = blob;
    location.offset = i / 20 * 200;
    location.length = 150;
    location.raw_length = 100;
    snapshot.added.push_back(std::move(location));
  }
  const Result<Bytes> zip = EncodeSnapshotZip(ctx, snapshot);
  ASSERT_TRUE(zip.ok()) << zip.error().ToShortString();
  snapshot.added = {};

  const HeapPeak heap;
  const Result<Snapshot> decoded = DecodeSnapshotZip(ctx, *zip, snapshot.snapshot_id);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToShortString();
  std::printf("snapshot of %zu objects: zip %.2f MiB, decoding peaks at %.2f MiB\n", kObjects,
              static_cast<double>(zip->size()) / (1 << 20),
              static_cast<double>(heap.peak_bytes()) / (1 << 20));
  EXPECT_EQ(decoded->added.size(), kObjects);
  EXPECT_LE(heap.peak_bytes(), std::int64_t{27} << 20);

  // Read from a store, the zip is the reader's own copy: freed once the
  // body is opened, so reading costs what decoding a zip held elsewhere
  // does, not the zip on top (+8.8 MiB when ReadSnapshot held it through).
  MemoryStore store;
  ASSERT_TRUE(store.Put(SnapshotKey(snapshot.snapshot_id), *zip).ok());
  const HeapPeak read_heap;
  const Result<Snapshot> read = ReadSnapshot(store, ctx, snapshot.snapshot_id);
  ASSERT_TRUE(read.ok()) << read.error().ToShortString();
  std::printf("read from a store: peaks at %.2f MiB\n",
              static_cast<double>(read_heap.peak_bytes()) / (1 << 20));
  EXPECT_EQ(read->added.size(), kObjects);
  EXPECT_LE(read_heap.peak_bytes(), std::int64_t{27} << 20);
}

}  // namespace
}  // namespace hx::testing
