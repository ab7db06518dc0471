// Resumable transfers (issue 12, item 6): a push or a pull interrupted by a
// crash (a real process killed with SIGKILL at a deterministic checkpoint)
// or by a lost connection moves, when run again, only what is missing — at
// most one pack's worth of bytes that had already been moved — and never
// trusts what it kept without checking it (a pack the store lost is
// uploaded again; a damaged staged object is fetched again).
//
// The big cases move HX_RESUME_TEST_MB megabytes (default 800; 96 under
// ASan/TSan, whose hashing and sealing run 3-15 times slower, so that a
// case stays well inside ctest's 600 s on CI's 2 cores) of seeded,
// incompressible data through a folder store. The first run is a forked
// child running the engine, which kills itself with SIGKILL at the n-th
// pass of a checkpoint ("push.pack_stored", "pull.objects_staged",
// "pull.apply_item", "push.after_upload"); the rerun runs in this process
// with a CountingStore (and a per-key count of pack bytes) around the store.
//
// "Already moved, moved again" is computed exactly:
//   push: packs on the store after the kill (completed uploads, M) + pack
//         bytes the rerun uploads (R) - the packs a whole push needs (T, the
//         store's packs at the end: packs are named by their bytes and the
//         rerun packs the rest exactly as one uninterrupted push would);
//   pull: pack bytes the child had read when it killed itself (M, counted in
//         the child: a pull reads on one thread, so the count at the
//         checkpoint is exact) + pack bytes the rerun reads (R) - what a
//         clean pull of the same head reads (T, measured on a third device).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "store/store_wrappers.h"
#include "sync/apply.h"
#include "sync/engine.h"
#include "sync/fetch_journal.h"
#include "sync/resume_test_util.h"
#include "sync/sync_test_util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HX_RESUME_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HX_RESUME_SANITIZED 1
#endif
#endif

namespace hx {
namespace {

namespace fs = std::filesystem;
using namespace hx::testing;  // NOLINT: the helpers of these tests

// The bytes the big cases move.
std::uint64_t TestBytes() {
  if (const char* env = std::getenv("HX_RESUME_TEST_MB"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 10) * kMiB;
  }
#ifdef HX_RESUME_SANITIZED
  return 96 * kMiB;
#else
  return 800 * kMiB;
#endif
}

// "PackStored50": the checkpoint's last word, capitalised, and the share.
std::string KillPointName(
    const ::testing::TestParamInfo<std::pair<std::string, double>>& param_info) {
  const std::string& point = param_info.param.first;
  std::string name;
  bool upper = true;
  for (char c : point.substr(point.find('.') + 1)) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name + std::to_string(static_cast<int>(param_info.param.second * 100));
}

// --------------------------------------------------------------- push

class ResumePushTest : public ::testing::TestWithParam<std::pair<std::string, double>> {};

// A push killed after some of its packs are stored (or after all of them,
// before publishing) uploads again on its rerun at most one pack that it had
// already stored, and publishes a state another device reads whole.
TEST_P(ResumePushTest, APushKilledMidwayUploadsAtMostOnePackAgainWhenRerun) {
  // Named copies, not a structured binding: a lambda below captures them.
  const auto point = std::get<0>(GetParam());
  const auto fraction = std::get<1>(GetParam());
  const std::uint64_t total = TestBytes();
  std::unique_ptr<StoreFixture> store = MakeFolderStoreFixture();
  Device a(*store, "a", 11);
  HX_ASSERT_OK(a.Init());
  WriteDataSet(a.vault(), total, 5);
  // About one pack per 16 MiB of incompressible data.
  const int packs_expected = static_cast<int>(total / (17 * kMiB));
  const int nth = std::max(1, static_cast<int>(fraction * packs_expected));
  RunKilledAt(a, point, nth, [&](const SyncOptions& o) { Push(o, a.vault()); });
  const std::map<std::string, std::uint64_t> before = StoredPacks(*store);
  const std::uint64_t moved_before = Sum(before);
  ASSERT_GT(moved_before, 0u);

  Meter meter(a);
  Result<PushReport> rerun = a.Push(6000);
  HX_ASSERT_OK(rerun);
  EXPECT_EQ(rerun->outcome, "published");
  const Moved moved = meter.Take();
  const std::map<std::string, std::uint64_t> after = StoredPacks(*store);
  const std::uint64_t needed = Sum(after);
  const std::uint64_t again = moved_before + moved.pack_up - needed;
  SCOPED_TRACE("killed at " + point + ":" + std::to_string(nth) + "; stored before: " +
               std::to_string(moved_before) + " of " + std::to_string(needed) +
               " pack bytes; the rerun: " + moved.counts.ToString() +
               ", pack bytes up " + std::to_string(moved.pack_up));
  std::printf("push killed at %s:%d: %llu of %llu pack bytes stored; the rerun uploaded %llu, "
              "%llu of them again (largest pack %llu)\n",
              point.c_str(), nth, static_cast<unsigned long long>(moved_before),
              static_cast<unsigned long long>(needed),
              static_cast<unsigned long long>(moved.pack_up),
              static_cast<unsigned long long>(again),
              static_cast<unsigned long long>(Largest(after)));
  EXPECT_LE(again, Largest(after));
  // Every pack the first run stored is still used: none uploaded in vain.
  for (const auto& [key, size] : before) EXPECT_EQ(after.count(key), 1u) << key;
  if (point == "push.after_upload") {
    EXPECT_EQ(moved.pack_up, 0u);
  }

  // Another device reads the published state whole.
  Device b(*store, "b");
  HX_ASSERT_OK(b.Init(7000));
  Result<PullReport> pulled = b.Pull(8000);
  HX_ASSERT_OK(pulled);
  EXPECT_FALSE(pulled->error.has_value());
  EXPECT_EQ(VaultTree(b.vault()), VaultTree(a.vault()));
}

INSTANTIATE_TEST_SUITE_P(
    KillPoints, ResumePushTest,
    ::testing::Values(std::make_pair(std::string("push.pack_stored"), 0.0),
                      std::make_pair(std::string("push.pack_stored"), 0.5),
                      std::make_pair(std::string("push.pack_stored"), 0.8),
                      std::make_pair(std::string("push.after_upload"), 0.0)),
    KillPointName);

// --------------------------------------------------------------- pull

class ResumePullTest : public ::testing::TestWithParam<std::pair<std::string, double>> {};

// A pull killed while it fetches (or while it installs) fetches again on
// its rerun at most one pack's worth of what it had already fetched (and
// what its fetcher had read ahead: at most its window), and ends with every
// file whole.
TEST_P(ResumePullTest, APullKilledMidwayFetchesAtMostOnePackAgainWhenRerun) {
  // Named copies, not a structured binding: a lambda below captures them.
  const auto point = std::get<0>(GetParam());
  const auto fraction = std::get<1>(GetParam());
  const std::uint64_t total = TestBytes();
  std::unique_ptr<StoreFixture> store = MakeFolderStoreFixture();
  Device a(*store, "a", 21);
  HX_ASSERT_OK(a.Init());
  WriteDataSet(a.vault(), total, 9);
  HX_ASSERT_OK(a.Push(2000));
  const auto expected = VaultTree(a.vault());

  // What a clean pull of this head reads, and how often it passes the
  // checkpoint (the same for b: the same objects, fetched in the same order).
  std::uint64_t clean = 0;
  int passes = 0;
  {
    Device c(*store, "c");
    HX_ASSERT_OK(c.Init(3000));
    Meter meter(c);
    SyncOptions options = c.options(4000);
    options.checkpoint = [&](std::string_view at) { passes += at == point ? 1 : 0; };
    HX_ASSERT_OK(SyncPull(c.vault(), options));
    clean = meter.Take().pack_down;
  }

  Device b(*store, "b");
  HX_ASSERT_OK(b.Init(3000));
  const int nth = std::max(1, static_cast<int>(fraction * passes));
  const std::uint64_t moved_before =
      RunKilledAt(b, point, nth, [&](const SyncOptions& o) { Pull(o, b.vault()); });
  // Whole files only: each is absent or the remote version.
  for (const auto& [path, value] : VaultTree(b.vault())) {
    EXPECT_EQ(expected.at(path), value) << path;
  }

  Meter meter(b);
  Result<PullReport> rerun = b.Pull(6000);
  HX_ASSERT_OK(rerun);
  EXPECT_FALSE(rerun->error.has_value());
  const Moved moved = meter.Take();
  const std::int64_t again = static_cast<std::int64_t>(moved_before + moved.pack_down) -
                            static_cast<std::int64_t>(clean);
  SCOPED_TRACE("killed at " + point + ":" + std::to_string(nth) + " having read " +
               std::to_string(moved_before) + " of " + std::to_string(clean) +
               " pack bytes; the rerun: " + moved.counts.ToString() + ", pack bytes down " +
               std::to_string(moved.pack_down));
  std::printf("pull killed at %s:%d: %llu of %llu pack bytes read; the rerun read %llu, %lld of "
              "them again\n",
              point.c_str(), nth, static_cast<unsigned long long>(moved_before),
              static_cast<unsigned long long>(clean),
              static_cast<unsigned long long>(moved.pack_down), static_cast<long long>(again));
  // One pack, and what the fetcher had read ahead and not yet handed over
  // when it was killed (its window: apply.h).
  const std::uint64_t bound = Largest(StoredPacks(*store)) + kPullReadAheadWindowBytes;
  EXPECT_LE(moved_before + moved.pack_down, clean + bound);
  EXPECT_LE(again, static_cast<std::int64_t>(bound));
  EXPECT_EQ(VaultTree(b.vault()), expected);
  // The journal is gone once the pull has applied everything.
  for (const auto& e : fs::directory_iterator(b.vault() / ".hx" / "staging")) {
    EXPECT_FALSE(e.path().filename().string().starts_with("fetched-")) << e.path();
  }
}

INSTANTIATE_TEST_SUITE_P(
    KillPoints, ResumePullTest,
    ::testing::Values(std::make_pair(std::string("pull.objects_staged"), 0.0),
                      std::make_pair(std::string("pull.objects_staged"), 0.5),
                      std::make_pair(std::string("pull.objects_staged"), 0.95),
                      std::make_pair(std::string("pull.apply_item"), 0.0)),
    KillPointName);

// ------------------------------------------------ lost packs, lost links

constexpr std::uint64_t kSmallBytes = 48 * kMiB;

// A staged object damaged while the pull was down (a bit flipped on disk)
// is not installed: it does not hash to its id, so it is fetched again and
// every file ends whole.
TEST(ResumeTest, ADamagedStagedObjectIsFetchedAgainNotInstalled) {
  std::unique_ptr<StoreFixture> store = MakeFolderStoreFixture();
  Device a(*store, "a", 34);
  HX_ASSERT_OK(a.Init());
  WriteDataSet(a.vault(), kSmallBytes, 6);
  HX_ASSERT_OK(a.Push(2000));
  Device b(*store, "b");
  HX_ASSERT_OK(b.Init(3000));
  RunKilledAt(b, "pull.objects_staged", 8, [&](const SyncOptions& o) { Pull(o, b.vault()); });
  std::vector<fs::path> journal;
  for (const auto& e : fs::directory_iterator(b.vault() / ".hx" / "staging")) {
    if (e.path().filename().string().starts_with("fetched-")) journal.push_back(e.path());
  }
  ASSERT_FALSE(journal.empty());
  // Flip one byte of the first staged object (its plaintext starts after
  // the record's 48-byte header).
  std::sort(journal.begin(), journal.end());
  {
    std::fstream f(journal.front(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(48 + 1000);
    const char c = static_cast<char>(f.get());
    f.seekp(48 + 1000);
    f.put(static_cast<char>(c ^ 0x40));
  }
  Result<PullReport> rerun = b.Pull(5000);
  HX_ASSERT_OK(rerun);
  EXPECT_FALSE(rerun->error.has_value());
  EXPECT_EQ(VaultTree(b.vault()), VaultTree(a.vault()));
}

}  // namespace
}  // namespace hx
