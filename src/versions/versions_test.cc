// The local history cache: version names, listing, age thinning and the
// size cap (oldest first), and the vault boundary (never through a symlink).
#include "versions/versions.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace hx {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSec = 1000;
constexpr std::int64_t kHour = 3600 * kSec;
constexpr std::int64_t kDay = 24 * kHour;
// 2026-12-06T12:00:00Z
constexpr std::int64_t kNow = 1796558400000;

class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    root_ = fs::temp_directory_path() /
            ("hx_versions_test_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(root_);
    fs::create_directories(vault() / ".hx");
    fs::create_directories(outside());
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path vault() const { return root_ / "vault"; }
  fs::path outside() const { return root_ / "outside"; }

  // A version of `path` replaced at `ms`, holding `bytes`.
  std::string Put(const std::string& path, std::int64_t ms, const std::string& bytes) {
    const std::string rel = VersionRel(path, ms);
    fs::create_directories((vault() / rel).parent_path());
    std::ofstream(vault() / rel, std::ios::binary) << bytes;
    return rel;
  }

  VaultDir Open() {
    Result<VaultDir> v = VaultDir::Open(Env::Default(), vault());
    EXPECT_TRUE(v.ok());
    return std::move(v).value();
  }

  std::set<std::int64_t> TimesOf(const std::string& path) {
    VaultDir v = Open();
    Result<std::vector<StoredVersion>> all = ListVersions(v, path);
    EXPECT_TRUE(all.ok());
    std::set<std::int64_t> out;
    if (all.ok()) {
      for (const StoredVersion& s : *all) out.insert(s.time_ms);
    }
    return out;
  }

  fs::path root_;
};

TEST(VersionNameTest, StampsTheTimeBeforeTheExtensionAndParsesBack) {
  EXPECT_EQ(VersionRel("docs/report.txt", kNow), ".hx/versions/docs/report~20261206-120000.txt");
  EXPECT_EQ(VersionRel("Makefile", kNow + 61 * kSec), ".hx/versions/Makefile~20261206-120101");
  EXPECT_EQ(VersionRel(".bashrc", kNow), ".hx/versions/.bashrc~20261206-120000");
  EXPECT_EQ(VersionRel("a.tar.gz", kNow), ".hx/versions/a.tar~20261206-120000.gz");
  for (const char* leaf : {"report.txt", "Makefile", ".bashrc", "a.tar.gz", "x~y.z", "t~20261206-120000"}) {
    const std::string rel = VersionRel(leaf, kNow);
    const std::string name = rel.substr(rel.rfind('/') + 1);
    for (const std::string& n : {name, name + ".~2~"}) {
      std::optional<VersionName> parsed = ParseVersionName(n);
      ASSERT_TRUE(parsed.has_value()) << n;
      EXPECT_EQ(parsed->leaf, leaf);
      EXPECT_EQ(parsed->time_ms, kNow);
    }
  }
  EXPECT_FALSE(ParseVersionName("report.txt").has_value());
  EXPECT_FALSE(ParseVersionName("report~20261306-120000.txt").has_value());  // month 13
  EXPECT_FALSE(ParseVersionName("report~2026120-6120000.txt").has_value());
}

TEST_F(VersionsTest, ListsNewestFirstPerPath) {
  Put("a.txt", kNow - 2 * kHour, "old");
  Put("a.txt", kNow - kHour, "newer");
  Put("d/b.txt", kNow - 3 * kHour, "b");
  VaultDir v = Open();
  Result<std::vector<StoredVersion>> all = ListVersions(v);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].path, "a.txt");
  EXPECT_EQ((*all)[0].time_ms, kNow - kHour);
  EXPECT_EQ((*all)[0].size, 5u);
  EXPECT_EQ((*all)[1].time_ms, kNow - 2 * kHour);
  EXPECT_EQ((*all)[2].path, "d/b.txt");
  Result<std::vector<StoredVersion>> b = ListVersions(v, "d/b.txt");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(b->front().rel, ".hx/versions/d/b~20261206-090000.txt");
}

TEST_F(VersionsTest, AMissingCacheIsEmpty) {
  VaultDir v = Open();
  Result<std::vector<StoredVersion>> all = ListVersions(v);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  Result<ThinReport> thinned = ThinVersions(v, VersionsPolicy{}, kNow);
  ASSERT_TRUE(thinned.ok());
  EXPECT_EQ(thinned->removed, 0u);
}

TEST_F(VersionsTest, ThinsWithAgeKeepingTheNewestOfEachSlot) {
  // Last hour: one per 30 s. Two in one slot: the newer stays.
  Put("a.txt", kNow - 10 * kSec, "1");
  Put("a.txt", kNow - 20 * kSec, "2");
  Put("a.txt", kNow - 50 * kSec, "3");
  // Last day: one per hour.
  Put("a.txt", kNow - 5 * kHour - 10 * kSec, "4");
  Put("a.txt", kNow - 5 * kHour - 20 * kSec, "5");
  // Last 30 days: one per day.
  Put("a.txt", kNow - 3 * kDay - kHour, "6");
  Put("a.txt", kNow - 3 * kDay - 2 * kHour, "7");
  // Older: gone.
  Put("a.txt", kNow - 31 * kDay, "8");
  // Another path's versions are thinned on their own.
  Put("b.txt", kNow - 20 * kSec, "9");
  VaultDir v = Open();
  Result<ThinReport> thinned = ThinVersions(v, VersionsPolicy{}, kNow);
  ASSERT_TRUE(thinned.ok());
  EXPECT_EQ(thinned->removed, 4u);
  EXPECT_EQ(thinned->kept, 5u);
  EXPECT_EQ(TimesOf("a.txt"), (std::set<std::int64_t>{kNow - 10 * kSec, kNow - 50 * kSec,
                                                       kNow - 5 * kHour - 10 * kSec,
                                                       kNow - 3 * kDay - kHour}));
  EXPECT_EQ(TimesOf("b.txt"), (std::set<std::int64_t>{kNow - 20 * kSec}));
}

TEST_F(VersionsTest, TheCapEvictsTheOldestFirstAcrossPaths) {
  Put("a.txt", kNow - 4 * kDay, std::string(400, 'a'));
  Put("b.txt", kNow - 3 * kDay, std::string(400, 'b'));
  Put("a.txt", kNow - 2 * kDay, std::string(400, 'c'));
  Put("c/d.txt", kNow - 1 * kDay, std::string(400, 'd'));
  VaultDir v = Open();
  Result<ThinReport> thinned = ThinVersions(v, VersionsPolicy{.max_bytes = 1000}, kNow);
  ASSERT_TRUE(thinned.ok());
  EXPECT_EQ(thinned->removed, 2u);
  EXPECT_EQ(thinned->bytes_removed, 800u);
  EXPECT_EQ(thinned->bytes_kept, 800u);
  EXPECT_EQ(TimesOf("a.txt"), (std::set<std::int64_t>{kNow - 2 * kDay}));
  EXPECT_TRUE(TimesOf("b.txt").empty());
  EXPECT_EQ(TimesOf("c/d.txt"), (std::set<std::int64_t>{kNow - kDay}));
  // The emptied directories go too; the cache itself stays.
  EXPECT_TRUE(fs::exists(vault() / ".hx/versions/c"));
  // A cap of 0 turns the cache off: everything goes.
  thinned = ThinVersions(v, VersionsPolicy{.max_bytes = 0}, kNow);
  ASSERT_TRUE(thinned.ok());
  EXPECT_EQ(thinned->kept, 0u);
  EXPECT_FALSE(fs::exists(vault() / ".hx/versions/c"));
  EXPECT_TRUE(fs::is_directory(vault() / ".hx/versions"));
}

TEST_F(VersionsTest, NeverFollowsASymlinkedCacheOrVersion) {
  // A version that is a symlink (the version of a symlink) is removed
  // itself; what it points to is untouched.
  std::ofstream(outside() / "precious.txt") << "keep me";
  const std::string link = VersionRel("l", kNow - 40 * kDay);
  fs::create_directories((vault() / link).parent_path());
  fs::create_symlink(outside() / "precious.txt", vault() / link);
  VaultDir v = Open();
  Result<std::vector<StoredVersion>> all = ListVersions(v);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(all->front().symlink);
  Result<ThinReport> thinned = ThinVersions(v, VersionsPolicy{}, kNow);
  ASSERT_TRUE(thinned.ok());
  EXPECT_EQ(thinned->removed, 1u);
  EXPECT_FALSE(fs::is_symlink(vault() / link));
  EXPECT_TRUE(fs::exists(outside() / "precious.txt"));

  // A cache that is a symlink to a folder outside the vault: refused, and
  // nothing there is listed or removed.
  fs::remove_all(vault() / ".hx/versions");
  const fs::path elsewhere = outside() / "versions";
  fs::create_directories(elsewhere);
  std::ofstream(elsewhere / "a~20200101-000000.txt") << "old";
  fs::create_directory_symlink(elsewhere, vault() / ".hx/versions");
  Result<std::vector<StoredVersion>> refused = ListVersions(v);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().category, Category::kConflict);
  EXPECT_FALSE(ThinVersions(v, VersionsPolicy{.max_bytes = 0}, kNow).ok());
  EXPECT_TRUE(fs::exists(elsewhere / "a~20200101-000000.txt"));

  // A symlinked directory inside the cache is not a version: never walked
  // into, never removed through.
  fs::remove(vault() / ".hx/versions");
  fs::create_directories(vault() / ".hx/versions");
  fs::create_directory_symlink(elsewhere, vault() / ".hx/versions/d");
  all = ListVersions(v);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  EXPECT_TRUE(ThinVersions(v, VersionsPolicy{.max_bytes = 0}, kNow).ok());
  EXPECT_TRUE(fs::exists(elsewhere / "a~20200101-000000.txt"));
}

}  // namespace
}  // namespace hx
