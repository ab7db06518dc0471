// The vault boundary: a VaultDir never reaches outside the vault through a
// symlinked or swapped directory, and never lets a content path into .hx/.
#include "os/vault_dir.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace hx {
namespace {

namespace fs = std::filesystem;

// The POSIX Env with openat2 taken away: OpenBeneath is the O_NOFOLLOW walk
// (what kernels before 5.6 get).
class WalkOnlyEnv final : public EnvWrapper {
 public:
  WalkOnlyEnv() : EnvWrapper(Env::Default()) {}
  int OpenBeneath(int dirfd, const char* path, int flags, mode_t mode, int* fd) override {
    return OpenBeneathByWalk(dirfd, path, flags, mode, fd);
  }
};

class VaultBoundaryTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '_');
    root_ = fs::temp_directory_path() /
            ("hx_vault_dir_test_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(root_);
    fs::create_directories(vault() / "a" / "b");
    fs::create_directories(vault() / ".hx" / "staging");
    fs::create_directories(outside());
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path vault() const { return root_ / "vault"; }
  fs::path outside() const { return root_ / "outside"; }
  VaultDir Open() {
    Result<VaultDir> dir = VaultDir::Open(GetParam() ? walk_ : Env::Default(), vault());
    EXPECT_TRUE(dir.ok()) << dir.error().ToShortString();
    return std::move(*dir);
  }

  fs::path root_;
  WalkOnlyEnv walk_;
};

TEST_P(VaultBoundaryTest, ContentPathsNeverLeadIntoHxOrOutOfTheVault) {
  for (const char* bad :
       {".hx", ".hx/staging/x", "", "/etc/passwd", "a/../x", "..", "a/./b", "a//b", "a/", "./a"}) {
    SCOPED_TRACE(bad);
    Status s = VaultDir::CheckPath(bad, VaultArea::kContent);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, SyncCode::kApplyFailed);
    EXPECT_EQ(s.error().category, Category::kInvalidInput);
  }
  EXPECT_FALSE(VaultDir::CheckPath(std::string("a\0b", 3), VaultArea::kContent).ok());
  EXPECT_TRUE(VaultDir::CheckPath("a/.hx/b", VaultArea::kContent).ok());  // only the root's
  EXPECT_TRUE(VaultDir::CheckPath(".hxx", VaultArea::kContent).ok());
  EXPECT_TRUE(VaultDir::CheckPath(".hx/staging/x", VaultArea::kState).ok());
  EXPECT_FALSE(VaultDir::CheckPath("a/x", VaultArea::kState).ok());

  VaultDir dir = Open();
  EXPECT_FALSE(dir.OpenParent(".hx/staging/x", VaultArea::kContent, true).ok());
  EXPECT_FALSE(dir.OpenDir(".hx/evil", VaultArea::kContent, true).ok());
  EXPECT_FALSE(fs::exists(vault() / ".hx" / "evil"));
}

TEST_P(VaultBoundaryTest, ASymlinkedParentAtAnyDepthIsRefusedAndNothingIsCreatedOutside) {
  // depth 1: "s" -> outside; depth 2: "a/s"; depth 3: "a/b/s".
  for (const std::string parent : {"s", "a/s", "a/b/s"}) {
    SCOPED_TRACE(parent);
    fs::create_directory_symlink(outside(), vault() / parent);
    VaultDir dir = Open();
    for (const std::string& rel : {parent + "/f.txt", parent + "/new/deeper/f.txt"}) {
      Result<VaultSlot> slot = dir.OpenParent(rel, VaultArea::kContent, /*create=*/true);
      ASSERT_FALSE(slot.ok());
      EXPECT_EQ(slot.error().code, SyncCode::kApplyFailed);
      EXPECT_EQ(slot.error().category, Category::kConflict);
      EXPECT_NE(slot.error().message.find("symlink"), std::string::npos);
      Result<std::optional<struct stat>> st = dir.Lstat(rel, VaultArea::kContent);
      ASSERT_FALSE(st.ok());
      EXPECT_EQ(st.error().category, Category::kConflict);
    }
    // The symlink itself is seen as one, never followed.
    Result<std::optional<struct stat>> link = dir.Lstat(parent, VaultArea::kContent);
    ASSERT_TRUE(link.ok());
    ASSERT_TRUE(link->has_value());
    EXPECT_TRUE(S_ISLNK((*link)->st_mode));
    EXPECT_TRUE(fs::is_empty(outside()));
    fs::remove(vault() / parent);
  }
}

TEST_P(VaultBoundaryTest, MissingDirectoriesAreCreatedOneComponentAtATime) {
  VaultDir dir = Open();
  Result<VaultSlot> slot = dir.OpenParent("a/b/c/d/f.txt", VaultArea::kContent, true);
  ASSERT_TRUE(slot.ok()) << slot.error().ToShortString();
  EXPECT_EQ(slot->name, "f.txt");
  EXPECT_TRUE(fs::is_directory(vault() / "a/b/c/d"));
  Result<std::optional<struct stat>> absent = dir.Lstat("a/b/x/y", VaultArea::kContent);
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  // A file where a directory is needed is not a directory.
  {
    int fd = ::open((vault() / "a/file").c_str(), O_CREAT | O_WRONLY, 0644);
    ::close(fd);
  }
  Result<VaultSlot> through_file = dir.OpenParent("a/file/x", VaultArea::kContent, true);
  ASSERT_FALSE(through_file.ok());
  EXPECT_EQ(through_file.error().category, Category::kConflict);
}

TEST_P(VaultBoundaryTest, ADirectorySwappedForASymlinkAfterItWasOpenedIsStillTheRealOne) {
  VaultDir dir = Open();
  Result<VaultSlot> slot = dir.OpenParent("a/b/f.txt", VaultArea::kContent, true);
  ASSERT_TRUE(slot.ok());
  fs::rename(vault() / "a", vault() / "moved");
  fs::create_directory_symlink(outside(), vault() / "a");
  Result<VaultSlot> staged = dir.OpenParent(".hx/staging/t", VaultArea::kState, true);
  ASSERT_TRUE(staged.ok());
  int fd = -1;
  ASSERT_EQ(dir.env().Open(staged->dir.get(), "t", O_CREAT | O_WRONLY | O_EXCL, 0644, &fd), 0);
  ::close(fd);
  ASSERT_EQ(dir.RenameNoReplace(*staged, *slot), 0);
  EXPECT_TRUE(fs::exists(vault() / "moved/b/f.txt"));
  EXPECT_TRUE(fs::is_empty(outside()));
  // Opened again now, the same path is refused.
  EXPECT_FALSE(dir.OpenParent("a/b/f.txt", VaultArea::kContent, true).ok());
}

TEST_P(VaultBoundaryTest, RenameNoReplaceNeverReplaces) {
  VaultDir dir = Open();
  for (const char* name : {"x", "y"}) {
    int fd = ::open((vault() / name).c_str(), O_CREAT | O_WRONLY, 0644);
    ::close(fd);
  }
  Result<VaultSlot> x = dir.OpenParent("x", VaultArea::kContent, false);
  Result<VaultSlot> y = dir.OpenParent("y", VaultArea::kContent, false);
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(dir.RenameNoReplace(*x, *y), EEXIST);
  EXPECT_TRUE(fs::exists(vault() / "x"));
}

INSTANTIATE_TEST_SUITE_P(OpenAt2AndWalk, VaultBoundaryTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "walk" : "openat2";
                         });

}  // namespace
}  // namespace hx
