// A first push that uploads while it scans (first_push.h) writes exactly
// the store of the push that scans first, whatever order the scan's threads
// finish in, and an upload that fails mid-scan stops both sides with the
// uploader's error.
#include "sync/first_push.h"

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "base/seeded_file_test_util.h"
#include "os/env.h"
#include "store/store_wrappers.h"
#include "sync/engine.h"
#include "sync/local_changes.h"
#include "sync/sync_test_util.h"
#include "repo/pack.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'700'000'000'000;
constexpr std::uint64_t kKiB = 1024;

// Holds the scan's open of `held` (a file alone in its directory) until the
// scan has opened every file named in `others`, so that everything after
// it in path order is hashed first and the hand-off must hold it all back. The uploader reads by absolute path (AT_FDCWD): never held.
class HoldFirstFileEnv final : public EnvWrapper {
 public:
  HoldFirstFileEnv(std::string held, std::set<std::string> others)
      : EnvWrapper(Env::Default()), held_(std::move(held)), others_(std::move(others)) {}

  int Open(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    if (dirfd != AT_FDCWD && (flags & O_DIRECTORY) == 0) {
      std::unique_lock lock(mu_);
      if (path == held_ && !released_) {
        // (A generous bound only so that a broken walk fails instead of
        // hanging; the test checks the hold ended because all were opened.)
        released_ = true;
        held_to_the_end_ = seen_.wait_for(lock, std::chrono::seconds(60),
                                          [&] { return opened_.size() == others_.size(); });
      } else if (others_.count(path) != 0) {
        opened_.insert(path);
        seen_.notify_all();
      }
    }
    return EnvWrapper::Open(dirfd, path, flags, mode, fd);
  }

  bool held_to_the_end() {
    std::lock_guard lock(mu_);
    return held_to_the_end_;
  }

 private:
  const std::string held_;
  const std::set<std::string> others_;
  std::mutex mu_;
  std::condition_variable seen_;
  std::set<std::string> opened_;  // guarded by mu_
  bool released_ = false;         // guarded by mu_
  bool held_to_the_end_ = false;  // guarded by mu_
};

// Directories of very different sizes (and depths), so that the scan's
// threads finish them out of path order; ~20 MiB of incompressible bytes:
// two packs of chunks. Returns the base names of every file but
// "a/first.bin", the one held (second in path order: "a-b.txt" < "a/").
std::set<std::string> WriteUnevenFolder(const Device& d) {
  std::set<std::string> names;
  const auto put = [&](const std::string& path, std::uint64_t size, std::uint64_t seed) {
    WriteSeededFile(d.vault() / path, size, seed);
    fs::last_write_time(d.vault() / path, fs::file_time_type::clock::time_point(
                                              std::chrono::seconds(1'600'000'000 + seed)));
    if (path != "a/first.bin") names.insert(fs::path(path).filename().string());
  };
  put("a/first.bin", 3 * kKiB, 1);
  put("a-b.txt", 100, 2);
  put("b/big.bin", 9 * kKiB * kKiB, 3);
  for (int i = 0; i < 60; ++i) {
    put("c/many/f" + std::to_string(i) + ".dat", (i % 7 + 1) * 5 * kKiB, 100 + i);
  }
  put("c/mid.bin", 4 * kKiB * kKiB, 4);
  put("d/e/f/g/deep.bin", 6 * kKiB * kKiB, 5);
  put("z.bin", 2 * kKiB * kKiB, 6);
  return names;
}

// One vault (the same ids and keys every time: seed 11) in a store of its
// own, the folder above written, one first push: the store's every object.
// The sequential reference is a push scoped to the whole folder (scope
// {""}: it lists every directory as a full scan does), which never
// overlaps (first_push.h) and packs the same files in the same order.
struct FirstPush {
  std::map<std::string, std::string> store;
  Result<PushReport> report = Error(SyncCode::kInternal, Category::kInternal, "not run");
  bool held_to_the_end = false;
};
FirstPush PushOnce(bool overlap, std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)>
                                        wrap_store = nullptr) {
  auto store = MakeFolderStoreFixture();
  Device d(*store, "a", /*seed=*/11);
  EXPECT_TRUE(d.Init(kNow).ok());
  HoldFirstFileEnv env("first.bin", WriteUnevenFolder(d));
  SyncOptions o = d.options(kNow + 1000);
  if (!overlap) o.scope = std::vector<std::string>{""};
  o.wrap_store = std::move(wrap_store);
  o.env = &env;
  o.scan_threads = 4;
  FirstPush out;
  out.report = SyncPush(d.vault(), o);
  out.held_to_the_end = env.held_to_the_end();
  out.store = store->Objects();
  return out;
}

TEST(FirstPushOverlapTest, WritesTheSameStoreBytesAsTheSequentialPushWhenTheScanFinishesOutOfOrder) {
  const FirstPush sequential = PushOnce(/*overlap=*/false);
  const FirstPush overlapped = PushOnce(/*overlap=*/true);
  HX_ASSERT_OK(sequential.report);
  HX_ASSERT_OK(overlapped.report);
  // "a/first.bin" was hashed after every other file.
  EXPECT_TRUE(sequential.held_to_the_end);
  EXPECT_TRUE(overlapped.held_to_the_end);
  EXPECT_GE(overlapped.report->blobs_uploaded, 2u);
  EXPECT_EQ(overlapped.report->blobs_uploaded, sequential.report->blobs_uploaded);
  EXPECT_EQ(overlapped.report->snapshot_id, sequential.report->snapshot_id);
  ASSERT_EQ(overlapped.store.size(), sequential.store.size());
  for (const auto& [key, bytes] : sequential.store) {
    ASSERT_EQ(overlapped.store.count(key), 1u) << key;
    EXPECT_TRUE(overlapped.store.at(key) == bytes) << key;
  }
}

// A folder store takes each pack as it fills (store.h StoreWriter: a pack
// is never held in memory whole); the store it ends with is the one a push
// that holds each pack and Puts it writes, byte for byte.
class StreamTap final : public StoreWrapper {
 public:
  explicit StreamTap(std::unique_ptr<Store> inner, bool stream)
      : StoreWrapper(std::move(inner)), stream_(stream) {}
  Status Put(std::string_view key, std::span<const std::uint8_t> bytes) override {
    if (key.starts_with("blobs/")) ++packs_put;
    return StoreWrapper::Put(key, bytes);
  }
  Result<std::unique_ptr<StoreWriter>> StartWrite() override {
    if (!stream_) return Store::StartWrite();
    return StartWriteThrough([](bool ok, std::uint64_t) {
      if (ok) ++packs_streamed;
    });
  }
  bool streams_writes() const override { return stream_ && inner().streams_writes(); }

  static inline std::atomic<int> packs_put{0};
  static inline std::atomic<int> packs_streamed{0};

 private:
  bool stream_;
};

TEST(FirstPushStreamTest, AFolderStoreGetsEachPackAsItFillsAndTheSameBytesAsFromPuts) {
  std::map<bool, FirstPush> pushes;
  for (const bool stream : {false, true}) {
    StreamTap::packs_put = 0;
    StreamTap::packs_streamed = 0;
    pushes[stream] = PushOnce(/*overlap=*/true, [stream](std::unique_ptr<Store> inner) {
      return std::unique_ptr<Store>(std::make_unique<StreamTap>(std::move(inner), stream));
    });
    HX_ASSERT_OK(pushes[stream].report);
    // Two packs of ~10 MiB: each is drained as it fills (1 MiB at a time).
    EXPECT_EQ(StreamTap::packs_streamed.load(), stream ? 2 : 0);
    EXPECT_EQ(StreamTap::packs_put.load(), stream ? 0 : 2);
  }
  EXPECT_EQ(pushes[true].report->blobs_uploaded, 2u);
  EXPECT_EQ(pushes[true].report->snapshot_id, pushes[false].report->snapshot_id);
  EXPECT_TRUE(pushes[true].store == pushes[false].store);
}

// Every pack upload fails: the push that overlaps fails as the one that
// scans first does, nothing is published, and a rerun publishes the same
// store as a push that never failed.
TEST(FirstPushOverlapTest, AFailedUploadFailsThePushAsTheSequentialOneAndARerunCompletesIt) {
  std::map<bool, std::map<std::string, std::string>> stores;
  std::map<bool, Error> errors;
  for (const bool overlap : {false, true}) {
    auto store = MakeFolderStoreFixture();
    Device d(*store, "a", /*seed=*/11);
    HX_ASSERT_OK(d.Init(kNow));
    WriteUnevenFolder(d);
    SyncOptions o = d.options(kNow + 1000);
    if (!overlap) o.scope = std::vector<std::string>{""};  // (see PushOnce)
    o.wrap_store = [](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
      auto faulty = std::make_unique<FaultInjectingStore>(std::move(inner));
      faulty->AddRule(FaultRule::FailPrefix(StoreOp::kPut, "blobs/"));
      return faulty;
    };
    Result<PushReport> failed = SyncPush(d.vault(), o);
    ASSERT_FALSE(failed.ok());
    errors.emplace(overlap, failed.error());
    EXPECT_EQ(store->Objects().count("head.json"), 0u);
    HX_ASSERT_OK(d.Push(kNow + 1000));
    stores[overlap] = store->Objects();
  }
  EXPECT_EQ(errors.at(true).code, errors.at(false).code);
  EXPECT_EQ(errors.at(true).category, errors.at(false).category);
  EXPECT_EQ(errors.at(true).message, errors.at(false).message);
  EXPECT_TRUE(stores.at(true) == stores.at(false));
}

// ScanWhileUploading with a queue of two files and packs of 64 KiB: the
// uploads fail while the scan still has most of the folder to hand on (a
// full queue, a scan waiting on it); both sides stop, the uploader's error
// is returned, and every pack it recorded is on the store.
TEST(FirstPushOverlapTest, AnUploadErrorMidScanStopsTheScanAndReturnsTheUploadersError) {
  auto store = MakeFolderStoreFixture();
  Device d(*store, "a", /*seed=*/11);
  HX_ASSERT_OK(d.Init(kNow));
  for (int i = 0; i < 200; ++i) {
    WriteSeededFile(d.vault() / ("d" + std::to_string(i % 9)) / ("f" + std::to_string(i)),
                    20 * kKiB, 1000 + i);
  }
  SyncOptions o = d.options(kNow + 1000);
  o.wrap_store = [](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
    auto faulty = std::make_unique<FaultInjectingStore>(std::move(inner));
    FaultRule rule = FaultRule::FailPrefix(StoreOp::kPut, "blobs/", Category::kAuth);
    rule.skip = 3;  // three packs are stored first
    faulty->AddRule(rule);
    return faulty;
  };
  Result<Session> s = OpenSession(d.vault(), o);
  HX_ASSERT_OK(s);
  UploaderOptions upload_options = UploaderOptions::ReadingThrough(s->env);
  upload_options.pack.target_size = 64 * kKiB;
  ObjectUploader uploader(*s->store, s->ctx, *s->index, upload_options);
  BaseState base;
  ScanQueueLimits limits;
  limits.max_files = 2;
  limits.batch_files = 1;
  limits.start_bytes = 0;
  Result<ScanResult> scan = ScanWhileUploading(*s, base, uploader, limits);
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.error().code, SyncCode::kAuthFailed) << scan.error().ToShortString();
  Result<std::vector<UnpublishedPack>> recorded = s->index->LoadUnpublishedPacks();
  HX_ASSERT_OK(recorded);
  EXPECT_LE(recorded->size(), 3u);
  const std::map<std::string, std::string> objects = store->Objects();
  for (const UnpublishedPack& pack : *recorded) {
    EXPECT_EQ(objects.count(BlobKey(pack.blob_id)), 1u) << pack.blob_id;
  }
}

}  // namespace
}  // namespace hx::testing
