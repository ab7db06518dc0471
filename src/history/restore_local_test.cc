// hx sync versions and hx sync restore --local: the history cache
// (.hx/versions/) lists what pulls replaced, and a version comes back from
// it beside the current file without the store — offline — as a copy,
// never over anything.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "history/history.h"
#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::Device;
using testing::MakeFolderStoreFixture;
using testing::StoreFixture;

// 2026-12-06T08:00:00Z.
constexpr std::int64_t kT0 = 1'796'544'000'000;
constexpr std::int64_t kHour = 3'600'000;

class RestoreLocalTest : public ::testing::Test {
 protected:
  RestoreLocalTest() : store_(MakeFolderStoreFixture()), a_(*store_, "a", 11), b_(*store_, "b", 12) {}
  void SetUp() override {
    HX_ASSERT_OK(a_.Init(kT0));
    HX_ASSERT_OK(b_.Init(kT0));
    // b pulls each of a's versions an hour apart: v1 is replaced at +2h,
    // v2 at +3h; v3 is current.
    for (int v = 1; v <= 3; ++v) {
      a_.Write("notes/plan.txt", "plan v" + std::to_string(v));
      HX_ASSERT_OK(a_.Push(kT0 + v * kHour));
      HX_ASSERT_OK(b_.Pull(kT0 + v * kHour + 1000));
    }
  }

  // A store that is gone: the local restore must not need it.
  void LoseTheStore() {
    fs::remove_all(fs::path(store_->TargetUri()));
    ASSERT_FALSE(fs::exists(fs::path(store_->TargetUri())));
  }

  Result<RestoreReport> RestoreLocal(const std::string& path, const std::string& at = "",
                                     const std::string& to = "") {
    SyncOptions o = b_.options(kT0 + 10 * kHour);
    return SyncRestore(b_.vault(), o, {path, at, to, /*local=*/true});
  }

  std::unique_ptr<StoreFixture> store_;
  Device a_, b_;
};

TEST_F(RestoreLocalTest, VersionsListsWhatPullsReplacedNewestFirst) {
  Result<VersionsReport> all = SyncVersions(b_.vault(), "");
  HX_ASSERT_OK(all);
  ASSERT_EQ(all->versions.size(), 2u);
  EXPECT_EQ(all->versions[0].path, "notes/plan.txt");
  EXPECT_EQ(all->versions[0].time_ms, kT0 + 3 * kHour + 1000);
  EXPECT_EQ(all->versions[1].time_ms, kT0 + 2 * kHour + 1000);
  EXPECT_EQ(all->bytes, 14u);
  EXPECT_EQ(all->max_bytes, kDefaultVersionsMaxBytes);
  EXPECT_NE(all->ToHuman().find("2 version(s), 14 bytes"), std::string::npos) << all->ToHuman();
  EXPECT_EQ(all->ToJson()["versions"][0]["version"],
            ".hx/versions/notes/plan~20261206-110001.txt");
  Result<VersionsReport> other = SyncVersions(b_.vault(), "other.txt");
  HX_ASSERT_OK(other);
  EXPECT_TRUE(other->versions.empty());
}

TEST_F(RestoreLocalTest, RestoresFromTheCacheOfflineBesideTheCurrentFileAsACopy) {
  LoseTheStore();
  // Default: the version most recently replaced.
  Result<RestoreReport> newest = RestoreLocal("notes/plan.txt");
  HX_ASSERT_OK(newest);
  EXPECT_EQ(b_.Read(newest->written_to), "plan v2");
  EXPECT_EQ(newest->written_to.rfind("notes/plan.txt (restored ", 0), 0u) << newest->written_to;
  EXPECT_EQ(newest->from_version, ".hx/versions/notes/plan~20261206-110001.txt");
  EXPECT_EQ(b_.Read("notes/plan.txt"), "plan v3");  // never replaced
  // --at: what the path held then (v1 until it was replaced at +2h).
  Result<RestoreReport> early =
      RestoreLocal("notes/plan.txt", "2026-12-06T09:30:00", (b_.vault() / "out").string());
  HX_ASSERT_OK(early);
  EXPECT_EQ(b_.Read("out/plan.txt"), "plan v1");
  EXPECT_EQ(early->written_to, "out/plan.txt");
  // A copy, not a link: editing it leaves the cache as it was.
  b_.Write("out/plan.txt", "edited");
  Result<VersionsReport> all = SyncVersions(b_.vault(), "notes/plan.txt");
  HX_ASSERT_OK(all);
  std::ifstream in(b_.vault() / all->versions[1].rel);
  std::stringstream bytes;
  bytes << in.rdbuf();
  EXPECT_EQ(bytes.str(), "plan v1");
  // Restoring again never replaces the first restored copy.
  Result<RestoreReport> again = RestoreLocal("notes/plan.txt");
  HX_ASSERT_OK(again);
  EXPECT_NE(again->written_to, newest->written_to);
  EXPECT_EQ(b_.Read(newest->written_to), "plan v2");
}

TEST_F(RestoreLocalTest, NothingCachedIsNotFoundAndSaysWhereToLook) {
  Result<RestoreReport> none = RestoreLocal("notes/other.txt");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, SyncCode::kInputInvalid);
  EXPECT_EQ(none.error().category, Category::kNotFound);
  EXPECT_NE(none.error().message.find("hx sync versions"), std::string::npos);
  Result<RestoreReport> before = RestoreLocal("notes/plan.txt", "2026-12-06T12:00:00");
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().category, Category::kNotFound);
  Result<RestoreReport> bad = RestoreLocal("notes/plan.txt", "#3");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().category, Category::kInvalidInput);
}

}  // namespace
}  // namespace hx
