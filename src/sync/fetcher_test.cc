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
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "chunk/chunk_test_util.h"
#include "index/index.h"
#include "repo/pack.h"
#include "store/store_wrappers.h"
#include "sync/fetcher.h"
#include "sync/session.h"
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

// Answers every ranged read of a pack of at least `from_bytes` with only
// the first `keep_percent` of the bytes asked for: a hub (or a server
// behind a store) that sends a short body. The store contract says such a
// read fails; the fetcher must not count on it.
class ShortRangeStore final : public StoreWrapper {
 public:
  ShortRangeStore(std::unique_ptr<Store> inner, std::uint64_t from_bytes, int keep_percent)
      : StoreWrapper(std::move(inner)), from_bytes_(from_bytes), keep_percent_(keep_percent) {}
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    Result<Bytes> out = StoreWrapper::GetRange(key, range);
    if (out.ok() && key.starts_with("blobs/") && range.length >= from_bytes_) {
      out->resize(out->size() * static_cast<std::size_t>(keep_percent_) / 100);
      out->shrink_to_fit();
    }
    return out;
  }

 private:
  const std::uint64_t from_bytes_;
  const int keep_percent_;
};

// The base entry of `path` in the vault's index (what the last pull
// recorded).
Result<Entry> BaseEntry(Session& s, const std::string& path) {
  HX_ASSIGN_OR_RETURN(EntryMap base, s.index->LoadBase());
  auto it = base.find(path);
  if (it == base.end()) return Error(SyncCode::kInternal, Category::kNotFound, path + " not in base");
  return it->second;
}

// The chunk ids of the files `paths` of s's base, each of one chunk.
void OneChunkEach(Session& s, const std::vector<std::string>& paths,
                  std::vector<ObjectId>* chunks) {
  Result<EntryMap> base = s.index->LoadBase();
  HX_ASSERT_OK(base);
  for (const std::string& path : paths) {
    auto it = base->find(path);
    ASSERT_NE(it, base->end()) << path;
    ASSERT_EQ(it->second.chunks.size(), 1u) << path;
    chunks->push_back(it->second.chunks[0].id);
  }
}

// A short reply is a damaged read of those objects, never bytes past the
// reply: before, the fetcher cut each object out of the reply by the
// lengths it had asked for (an empty reply: a read through a null pointer).
TEST_F(FetcherReadAheadTest, AShortReplyToARangedReadFailsItsObjectInsteadOfReadingPastIt) {
  a_.Write("note.txt", NoiseBytes(100 << 10, 7));  // one chunk
  HX_ASSERT_OK(PushThenPull(nullptr));
  b_.wrap_store = [](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    return std::make_unique<ShortRangeStore>(std::move(inner), 0, 0);
  };
  Result<Session> s = OpenSession(b_.vault(), b_.options(5000));
  HX_ASSERT_OK(s);
  Result<Entry> note = BaseEntry(*s, "note.txt");
  HX_ASSERT_OK(note);
  ASSERT_EQ(note->chunks.size(), 1u);
  ObjectFetcher fetcher(*s->store, s->ctx, *s->index);
  Result<std::vector<std::uint8_t>> got = fetcher.Fetch(ObjectKind::kChunk, note->chunks[0].id);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, SyncCode::kApplyFailed);  // fails the items that need it
  EXPECT_EQ(got.error().category, Category::kCorrupt);
  EXPECT_NE(got.error().message.find("shorter than the range asked for"), std::string::npos)
      << got.error().message;
}

// The same in a whole pull, where the chunks are read ahead: a short
// read-ahead is forgotten, the Fetch that needs the object reads it itself
// and must fail the item (not write what lay past the reply).
TEST_F(FetcherReadAheadTest, APullThroughShortRepliesFailsTheItemsItCannotRead) {
  a_.Write("big.bin", NoiseBytes(1 << 20, 11));
  a_.Write("small.txt", "small");
  HX_ASSERT_OK(a_.Push(3000));
  // The trees (small) read whole; the big file's chunks cut in half.
  b_.wrap_store = [](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    return std::make_unique<ShortRangeStore>(std::move(inner), 64 << 10, 50);
  };
  Result<PullReport> pulled = b_.Pull(4000);
  HX_ASSERT_OK(pulled);
  ASSERT_TRUE(pulled->error.has_value());
  EXPECT_EQ(pulled->error->code, SyncCode::kApplyFailed);
  bool big_failed = false;
  for (const PullItem& item : pulled->items) {
    if (item.path != "big.bin") continue;
    big_failed = item.status == "failed";
    ASSERT_TRUE(item.error.has_value());
    EXPECT_NE(item.error->message.find("shorter than the range asked for"), std::string::npos)
        << item.error->message;
  }
  EXPECT_TRUE(big_failed);
  EXPECT_FALSE(b_.Exists("big.bin"));
}

// Records every ranged read of a pack: (key, offset, length).
class RangeRecordingStore final : public StoreWrapper {
 public:
  using Read = std::tuple<std::string, std::uint64_t, std::uint64_t>;
  struct Log {
    std::mutex mu;
    std::vector<Read> reads;
  };
  RangeRecordingStore(std::unique_ptr<Store> inner, Log& log)
      : StoreWrapper(std::move(inner)), log_(log) {}
  Result<Bytes> GetRange(std::string_view key, ByteRange range) override {
    if (key.starts_with("blobs/")) {
      std::lock_guard<std::mutex> lock(log_.mu);
      log_.reads.emplace_back(std::string(key), range.offset, range.length);
    }
    return StoreWrapper::GetRange(key, range);
  }

 private:
  Log& log_;
};

// A tree many directories list (here an empty subdirectory in each: every
// empty directory has the same tree) is loaded once and read once. Before, every Prefetch of it after its
// load read it again (nothing would take it: the walk lists it from what it
// already loaded) and held it, counted in the read-ahead window, to the
// end of the pull.
TEST_F(FetcherReadAheadTest, ATreeThatManyDirectoriesListIsReadOnce) {
  for (int i = 0; i < 20; ++i) {
    const std::string dir = "d" + std::to_string(i);
    a_.Write(dir + "/f.txt", "file " + std::to_string(i));
    std::filesystem::create_directories(a_.vault() / dir / "same");
  }
  RangeRecordingStore::Log log;
  Result<PullReport> pulled =
      PushThenPull([&log](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
        return std::make_unique<RangeRecordingStore>(std::move(inner), log);
      });
  HX_ASSERT_OK(pulled);
  b_.wrap_store = nullptr;
  Result<Session> s = OpenSession(b_.vault(), b_.options(5000));
  HX_ASSERT_OK(s);
  Result<TreeIdMap> trees = s->index->LoadBaseTrees();
  HX_ASSERT_OK(trees);
  ASSERT_EQ(trees->at("d0/same"), trees->at("d19/same"));
  Result<std::optional<ObjectLocation>> same = s->index->FindObject(trees->at("d0/same"));
  HX_ASSERT_OK(same);
  ASSERT_TRUE(same->has_value());
  const ObjectLocation& at = **same;
  // A read of that tree (alone, or first of a read) starts at its offset.
  int reads = 0;
  for (const auto& [key, offset, length] : log.reads) {
    if (key == BlobKey(at.blob_id) && offset == at.offset) ++reads;
  }
  EXPECT_EQ(reads, 1) << log.reads.size() << " reads in all";
}

// EndReadAhead: what was read ahead and not fetched is dropped (not held
// to the fetcher's end), and the fetcher still fetches it, reading it
// itself.
TEST_F(FetcherReadAheadTest, EndingTheReadAheadDropsWhatWasReadAheadAndNotFetched) {
  for (int i = 0; i < 8; ++i) a_.Write("f" + std::to_string(i) + ".bin", NoiseBytes(100 << 10, 20 + i));
  HX_ASSERT_OK(PushThenPull(nullptr));
  Result<Session> s = OpenSession(b_.vault(), b_.options(5000));
  HX_ASSERT_OK(s);
  std::vector<std::string> paths;
  for (int i = 0; i < 8; ++i) paths.push_back("f" + std::to_string(i) + ".bin");
  std::vector<ObjectId> chunks;
  ASSERT_NO_FATAL_FAILURE(OneChunkEach(*s, paths, &chunks));
  ObjectFetcher fetcher(*s->store, s->ctx, *s->index);
  fetcher.ReadAhead(6, std::uint64_t{32} << 20);
  for (const ObjectId& id : chunks) HX_ASSERT_OK(fetcher.Expect(id));
  HX_ASSERT_OK(fetcher.Fetch(ObjectKind::kChunk, chunks[0]));
  // The other seven were read with the first (or are being read).
  EXPECT_GT(fetcher.read_ahead_bytes(), 7u * (100u << 10));
  fetcher.EndReadAhead();
  EXPECT_EQ(fetcher.read_ahead_bytes(), 0u);
  const std::uint64_t requests = fetcher.stats().requests;
  Result<std::vector<std::uint8_t>> fifth = fetcher.Fetch(ObjectKind::kChunk, chunks[5]);
  HX_ASSERT_OK(fifth);
  const std::string want = NoiseBytes(100 << 10, 25);
  EXPECT_EQ(std::string(fifth->begin(), fifth->end()), want);
  EXPECT_EQ(fetcher.stats().requests, requests + 1);  // dropped: read again
  EXPECT_EQ(fetcher.read_ahead_bytes(), 0u);          // and the read-ahead stays off
}

// Planning a read-ahead walks the expected objects after the next one; a
// window too full for that read must not make every fetch plan it again
// (a pull of 100,000 tiny files spent two thirds of its CPU so). 2,000
// small objects, 8 MiB: two reads of up to kAheadSegmentBytes (4 MiB), and
// a window that has room for the second only once the first is used up.
// The plans walk a few times as many objects as are fetched, not each
// fetch the ~1,000 objects of the next read.
TEST_F(FetcherReadAheadTest, AFullWindowDoesNotMakeEveryFetchPlanItsReadAgain) {
  constexpr int kFiles = 2000;
  for (int i = 0; i < kFiles; ++i) {
    a_.Write("d/f" + std::to_string(i) + ".txt", NoiseBytes(4 << 10, 1000 + i));
  }
  HX_ASSERT_OK(PushThenPull(nullptr));
  Result<Session> s = OpenSession(b_.vault(), b_.options(5000));
  HX_ASSERT_OK(s);
  std::vector<std::string> paths;
  for (int i = 0; i < kFiles; ++i) paths.push_back("d/f" + std::to_string(i) + ".txt");
  std::vector<ObjectId> chunks;
  ASSERT_NO_FATAL_FAILURE(OneChunkEach(*s, paths, &chunks));
  ObjectFetcher fetcher(*s->store, s->ctx, *s->index);
  fetcher.ReadAhead(6, std::uint64_t{16} << 10);
  for (const ObjectId& id : chunks) HX_ASSERT_OK(fetcher.Expect(id));
  for (int i = 0; i < kFiles; ++i) {
    Result<std::vector<std::uint8_t>> got = fetcher.Fetch(ObjectKind::kChunk, chunks[i]);
    HX_ASSERT_OK(got);
    ASSERT_EQ(std::string(got->begin(), got->end()), NoiseBytes(4 << 10, 1000 + i)) << i;
  }
  EXPECT_EQ(fetcher.stats().objects, std::uint64_t{kFiles});
  EXPECT_LE(fetcher.stats().planned, std::uint64_t{4} * kFiles)
      << fetcher.stats().requests << " reads";
  fetcher.EndReadAhead();
}

}  // namespace
}  // namespace hx::testing
