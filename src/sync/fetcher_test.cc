// The fetcher's read-ahead (sync/fetcher.h) in a whole pull: the ranged
// reads of the fetch plan overlap (several in flight at once, not one at a
// time), stay inside the window, and the pull's result is what it is
// without read-ahead. A gate in the store holds every ranged read until
// three are in flight at once (or a generous deadline passes), so a fetcher
// that reads one at a time fails the test instead of passing it slowly.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chunk/chunk_test_util.h"
#include "store/store_wrappers.h"
#include "sync/sync_test_util.h"

namespace hx::testing {
namespace {

// Incompressible bytes, as a file's contents.
std::string NoiseBytes(std::size_t size, std::uint64_t seed) {
  const std::vector<std::uint8_t> bytes = RandomBytes(seed, size);
  return std::string(bytes.begin(), bytes.end());
}

// Two devices of one folder store: `a` pushes what the test writes, `b`
// pulls it through the store wrapper the test gives it.
class FetcherReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(1000));
    HX_ASSERT_OK(b_.Init(2000));
  }
  // Pushes a's vault, then pulls it into b's through `wrap` and checks that
  // b has what a has.
  Result<PullReport> PushThenPull(
      std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> wrap) {
    if (auto pushed = a_.Push(3000); !pushed.ok()) return std::move(pushed).error();
    b_.wrap_store = std::move(wrap);
    Result<PullReport> pulled = b_.Pull(4000);
    if (pulled.ok()) {
      EXPECT_FALSE(pulled->error.has_value()) << pulled->error->ToShortString();
      EXPECT_EQ(b_.Snapshot(), a_.Snapshot());
    }
    return pulled;
  }

  std::unique_ptr<StoreFixture> store_ = MakeFolderStoreFixture();
  Device a_{*store_, "a", 1};
  Device b_{*store_, "b", 2};
};

// Ranged reads of 1 MiB or more wait at a gate until `open_at` are in flight at once (then
// the gate stays open), or until the deadline; it records the most reads
// and the most bytes that were in flight together.
class GatedRangeStore final : public StoreWrapper {
 public:
  struct Seen {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    std::uint64_t bytes_in_flight = 0;
    int max_in_flight = 0;
    std::uint64_t max_bytes_in_flight = 0;
    bool open = false;
    int ranged_reads = 0;
  };

  GatedRangeStore(std::unique_ptr<Store> inner, Seen& seen, int open_at)
      : StoreWrapper(std::move(inner)), seen_(seen), open_at_(open_at) {}

  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    // Only the reads of the big files' chunks (the trees are read one at a
    // time before the apply, and are small).
    if (!key.starts_with("blobs/") || range.length < (std::uint64_t{1} << 20)) {
      return StoreWrapper::GetRange(key, range);
    }
    {
      std::unique_lock<std::mutex> lock(seen_.mu);
      ++seen_.ranged_reads;
      ++seen_.in_flight;
      seen_.bytes_in_flight += range.length;
      seen_.max_in_flight = std::max(seen_.max_in_flight, seen_.in_flight);
      seen_.max_bytes_in_flight = std::max(seen_.max_bytes_in_flight, seen_.bytes_in_flight);
      if (seen_.in_flight >= open_at_) seen_.open = true;
      seen_.cv.notify_all();
      seen_.cv.wait_for(lock, std::chrono::seconds(20), [&] { return seen_.open; });
    }
    Result<Bytes> out = StoreWrapper::GetRange(key, range);
    std::lock_guard<std::mutex> lock(seen_.mu);
    --seen_.in_flight;
    seen_.bytes_in_flight -= range.length;
    return out;
  }

 private:
  Seen& seen_;
  const int open_at_;
};

TEST_F(FetcherReadAheadTest, APullKeepsSeveralRangedReadsInFlightWithinTheWindow) {
  // 40 MiB in 10 files and a few small ones: more than one window's worth,
  // in several 4 MiB read-ahead segments.
  for (int i = 0; i < 10; ++i) {
    a_.Write("big/f" + std::to_string(i) + ".bin", NoiseBytes(4 << 20, i + 1));
  }
  for (int i = 0; i < 20; ++i)
    a_.Write("small/n" + std::to_string(i) + ".txt", "note " + std::to_string(i));
  GatedRangeStore::Seen seen;
  Result<PullReport> pulled =
      PushThenPull([&seen](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
        return std::make_unique<GatedRangeStore>(std::move(inner), seen, 3);
      });
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->changes.added, 30u + 2u);  // the files and their two directories
  EXPECT_GE(seen.max_in_flight, 3) << "ranged reads ran one at a time; " << seen.ranged_reads
                                   << " reads, " << pulled->bytes_fetched << " bytes";
  // The window (32 MiB) and one read's bound (8 MiB: a Fetch's own read
  // may run beside the read-ahead).
  EXPECT_LE(seen.max_bytes_in_flight, (std::uint64_t{32} << 20) + (std::uint64_t{8} << 20));
  EXPECT_GE(seen.ranged_reads, 10);
}

// Counts the ranged reads of packs into a counter the test keeps (the
// store itself lives only as long as one command).
class RangeCountingStore final : public StoreWrapper {
 public:
  RangeCountingStore(std::unique_ptr<Store> inner, std::atomic<int>& reads)
      : StoreWrapper(std::move(inner)), reads_(reads) {}
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    if (key.starts_with("blobs/")) ++reads_;
    return StoreWrapper::GetRange(key, range);
  }

 private:
  std::atomic<int>& reads_;
};

// The trees a pull loads are read ahead by parent (Prefetch): the subtrees
// of a directory come in one coalesced read, not one read each (on a
// distant store, one round trip instead of forty). A first pull of 40
// directories of one small file each: the root tree, its 40 subtrees, and
// the files' chunks take a handful of reads.
TEST_F(FetcherReadAheadTest, APullReadsTheSubtreesOfADirectoryInOneRead) {
  for (int i = 0; i < 40; ++i)
    a_.Write("d" + std::to_string(i) + "/f.txt", "file " + std::to_string(i));
  std::atomic<int> reads{0};
  Result<PullReport> pulled =
      PushThenPull([&reads](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
        return std::make_unique<RangeCountingStore>(std::move(inner), reads);
      });
  HX_ASSERT_OK(pulled);
  EXPECT_EQ(pulled->trees_loaded, 41u);
  // The root, its subtrees (one read), the chunks (coalesced): one read per
  // tree would be 41 and more.
  EXPECT_LE(reads.load(), 6) << pulled->trees_loaded << " trees loaded";
}

}  // namespace
}  // namespace hx::testing
