// The local history cache through real pulls (two devices, a folder
// store): what a pull replaces or deletes is kept in .hx/versions/, the
// cache is capped oldest first, it is local (never scanned, never pushed),
// it is never reached through a symlink, and a crash at any local call of
// the pull leaves each old version at its path or in the cache — never
// neither.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "os/fault_env.h"
#include "sync/sync_test_util.h"
#include "versions/versions.h"

namespace hx::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kDay = 24 * 3600 * 1000;

class VersionsPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = MakeFolderStoreFixture();
    a_ = std::make_unique<Device>(*store_, "a");
    HX_ASSERT_OK(a_->Init(Tick()));
    b_ = std::make_unique<Device>(*store_, "b");
    HX_ASSERT_OK(b_->Init(Tick()));
    a_->Write("doc.txt", "doc v1");
    a_->Write("d/gone.txt", "gone v1");
    a_->Write("keep.txt", "untouched");
    HX_ASSERT_OK(a_->Push(Tick()));
    HX_ASSERT_OK(b_->Pull(Tick()));
  }

  // a replaces doc.txt (with `doc`) and deletes d/gone.txt, and pushes.
  void ChangeOnA(const std::string& doc) {
    a_->Write("doc.txt", doc);
    if (a_->Exists("d/gone.txt")) a_->Remove("d/gone.txt");
    HX_ASSERT_OK(a_->Push(Tick()));
  }

  std::vector<StoredVersion> Versions(const Device& d,
                                      std::optional<std::string> path = std::nullopt) {
    Result<VaultDir> v = VaultDir::Open(Env::Default(), d.vault());
    EXPECT_TRUE(v.ok());
    if (!v.ok()) return {};
    Result<std::vector<StoredVersion>> all = ListVersions(*v, path);
    EXPECT_TRUE(all.ok()) << all.error().ToShortString();
    return all.ok() ? *all : std::vector<StoredVersion>{};
  }

  std::string ReadRel(const Device& d, const std::string& rel) {
    std::ifstream in(d.vault() / rel, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // The contents of every version in b's cache.
  std::multiset<std::string> CachedBytes() {
    std::multiset<std::string> out;
    for (const StoredVersion& v : Versions(*b_)) out.insert(ReadRel(*b_, v.rel));
    return out;
  }

  void SetCap(const Device& d, std::uint64_t bytes) {
    HX_ASSERT_OK(SyncConfigure(d.vault(), {.versions_max_bytes = bytes}));
  }

  std::int64_t Tick() { return now_ += 1000; }

  std::unique_ptr<StoreFixture> store_;
  std::unique_ptr<Device> a_, b_;
  std::int64_t now_ = 1'796'558'400'000;  // 2026-12-06T12:00:00Z
};

TEST_F(VersionsPullTest, APullKeepsWhatItReplacesAndDeletes) {
  ChangeOnA("doc v2");
  const std::int64_t at = Tick();
  Result<PullReport> pull = b_->Pull(at);
  HX_ASSERT_OK(pull);
  EXPECT_TRUE(pull->warnings.empty());
  EXPECT_EQ(b_->Read("doc.txt"), "doc v2");
  EXPECT_FALSE(b_->Exists("d/gone.txt"));
  const std::vector<StoredVersion> doc = Versions(*b_, "doc.txt");
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0].rel, VersionRel("doc.txt", at));
  EXPECT_EQ(ReadRel(*b_, doc[0].rel), "doc v1");
  const std::vector<StoredVersion> gone = Versions(*b_, "d/gone.txt");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(ReadRel(*b_, gone[0].rel), "gone v1");
  // Nothing else: an untouched file is not versioned.
  EXPECT_EQ(Versions(*b_).size(), 2u);
  // Not a copy: the cache holds the replaced inode itself (its only name).
  struct stat st;
  ASSERT_EQ(::lstat((b_->vault() / doc[0].rel).c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(VersionsPullTest, TheCacheIsLocalNeverScannedNorPushed) {
  ChangeOnA("doc v2");
  HX_ASSERT_OK(b_->Pull(Tick()));
  ASSERT_EQ(Versions(*b_).size(), 2u);
  Result<StatusReport> status = b_->Status(Tick());
  HX_ASSERT_OK(status);
  Result<PushReport> push = b_->Push(Tick());
  HX_ASSERT_OK(push);
  EXPECT_EQ(push->outcome, "up_to_date");
  // A change of b's reaches a, and nothing of b's cache comes with it.
  b_->Write("new.txt", "from b");
  HX_ASSERT_OK(b_->Push(Tick()));
  HX_ASSERT_OK(a_->Pull(Tick()));
  EXPECT_EQ(a_->Snapshot(), b_->Snapshot());
  EXPECT_FALSE(fs::exists(a_->vault() / ".hx/versions"));
}

TEST_F(VersionsPullTest, TheCapEvictsTheOldestVersionsFirst) {
  // Room for two 10-byte versions.
  SetCap(*b_, 25);
  for (int i = 2; i <= 5; ++i) {
    now_ += kDay;  // one version a day: the age thinning keeps each
    ChangeOnA("doc v" + std::to_string(i) + "....");  // 10 bytes
    HX_ASSERT_OK(b_->Pull(Tick()));
  }
  // Versions v1 (6 bytes, the first replaced), v2..v4 (10 bytes each) were
  // kept; the newest that fit in 25 bytes stay.
  std::multiset<std::string> kept;
  for (const StoredVersion& v : Versions(*b_, "doc.txt")) kept.insert(ReadRel(*b_, v.rel));
  EXPECT_EQ(kept, (std::multiset<std::string>{"doc v3....", "doc v4...."}));
  EXPECT_EQ(b_->Read("doc.txt"), "doc v5....");
  // Off: the next pull keeps nothing.
  SetCap(*b_, 0);
  ChangeOnA("doc v6");
  HX_ASSERT_OK(b_->Pull(Tick()));
  EXPECT_EQ(Versions(*b_, "doc.txt").size(), 2u);
}

TEST_F(VersionsPullTest, NeverWritesThroughASymlinkedCache) {
  const TempDir outside;
  fs::create_directory_symlink(outside.path(), b_->vault() / ".hx/versions");
  ChangeOnA("doc v2");
  Result<PullReport> pull = b_->Pull(Tick());
  HX_ASSERT_OK(pull);
  // The items that would keep a version there fail, naming it; the old
  // versions stay at their paths and nothing is written outside.
  ASSERT_TRUE(pull->error.has_value());
  EXPECT_EQ(pull->error->category, Category::kConflict) << pull->error->ToShortString();
  EXPECT_EQ(b_->Read("doc.txt"), "doc v1");
  EXPECT_EQ(b_->Read("d/gone.txt"), "gone v1");
  EXPECT_TRUE(fs::is_empty(outside.path()));
  // Moved away, the next pull finishes.
  fs::remove(b_->vault() / ".hx/versions");
  pull = b_->Pull(Tick());
  HX_ASSERT_OK(pull);
  EXPECT_FALSE(pull->error.has_value());
  EXPECT_EQ(b_->Read("doc.txt"), "doc v2");
  EXPECT_EQ(CachedBytes(), (std::multiset<std::string>{"doc v1", "gone v1"}));
}

// A crash at local call n of the pull, for every n: each replaced or
// deleted version is at its path or in the cache, never neither; a rerun
// then finishes the pull and the cache holds each old version once.
TEST_F(VersionsPullTest, ACrashAtAnyCallLeavesTheOldVersionAtItsPathOrInTheCache) {
  ChangeOnA("doc v2");
  const TempDir saved_dir;
  const fs::path saved = saved_dir.path() / "b";
  fs::copy(b_->vault(), saved, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const std::int64_t at = Tick();
  FaultInjectingEnv env(Env::Default());
  std::uint64_t calls = 0;
  {
    SyncOptions o = b_->options(at);
    o.env = &env;
    env.Disarm();
    HX_ASSERT_OK(SyncPull(b_->vault(), o));
    calls = env.calls();
  }
  ASSERT_GT(calls, 20u);
  int crashed = 0;
  for (std::uint64_t n = 1; n <= calls; ++n) {
    SCOPED_TRACE("crash at call " + std::to_string(n));
    fs::remove_all(b_->vault());
    fs::copy(saved, b_->vault(), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    SyncOptions o = b_->options(at);
    o.env = &env;
    env.Arm(n, EnvFault::kCrash);
    Result<PullReport> pull = SyncPull(b_->vault(), o);
    if (env.fired()) ++crashed;
    env.Disarm();
    const std::multiset<std::string> cached = CachedBytes();
    const bool doc_kept = (b_->Exists("doc.txt") && b_->Read("doc.txt") == "doc v1") ||
                          cached.count("doc v1") == 1;
    const bool gone_kept = (b_->Exists("d/gone.txt") && b_->Read("d/gone.txt") == "gone v1") ||
                           cached.count("gone v1") == 1;
    EXPECT_TRUE(doc_kept);
    EXPECT_TRUE(gone_kept);
    // The path is never empty: the old or the new version.
    ASSERT_TRUE(b_->Exists("doc.txt"));
    EXPECT_THAT(b_->Read("doc.txt"), ::testing::AnyOf("doc v1", "doc v2"));
    // An unfaulted rerun (in the same second: a link the crash left is
    // reused) finishes.
    SyncOptions again = b_->options(at);
    Result<PullReport> rerun = SyncPull(b_->vault(), again);
    HX_ASSERT_OK(rerun);
    ASSERT_FALSE(rerun->error.has_value()) << rerun->error->ToShortString();
    EXPECT_EQ(b_->Read("doc.txt"), "doc v2");
    EXPECT_FALSE(b_->Exists("d/gone.txt"));
    EXPECT_EQ(CachedBytes(), (std::multiset<std::string>{"doc v1", "gone v1"}));
  }
  EXPECT_GT(crashed, 20);
}

}  // namespace
}  // namespace hx::testing
