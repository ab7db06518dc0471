// The archive keeps a losing version without ever overwriting one.
#include "sync/archive.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sync/sync_test_util.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LocalConfig config;
    config.node_id = std::string(32, 'a');
    config.vault_id = std::string(32, 'b');
    config.target_uri = "file:///nowhere";
    auto state = LocalState::Create(dir_.path(), config);
    ASSERT_TRUE(state.ok()) << state.error().ToShortString();
    local_.emplace(std::move(*state));
  }
  TempDir dir_;
  std::optional<LocalState> local_;
};

TEST_F(ArchiveTest, MovesTheFileUnderItsReasonAndRelativePath) {
  WriteAll(dir_.path() / "docs/report.txt", "mine");
  auto where = ArchiveVersion(*local_, "docs/report.txt", "pull-0123abcd-local");
  ASSERT_TRUE(where.ok()) << where.error().ToShortString();
  EXPECT_EQ(*where, dir_.path() / ".hx/archive/pull-0123abcd-local/docs/report.txt");
  EXPECT_EQ(ReadAll(*where), "mine");
  EXPECT_FALSE(fs::exists(dir_.path() / "docs/report.txt"));
}

TEST_F(ArchiveTest, NeverOverwritesAnEarlierArchivedVersion) {
  WriteAll(dir_.path() / "a.txt", "first");
  auto one = ArchiveVersion(*local_, "a.txt", "r");
  ASSERT_TRUE(one.ok());
  WriteAll(dir_.path() / "a.txt", "second");
  auto two = ArchiveVersion(*local_, "a.txt", "r");
  ASSERT_TRUE(two.ok());
  WriteAll(dir_.path() / "a.txt", "third");
  auto three = ArchiveVersion(*local_, "a.txt", "r");
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(ReadAll(*one), "first");
  EXPECT_EQ(two->filename(), "a.txt.~2~");
  EXPECT_EQ(ReadAll(*two), "second");
  EXPECT_EQ(three->filename(), "a.txt.~3~");
  EXPECT_EQ(ReadAll(*three), "third");
}

TEST_F(ArchiveTest, ArchivesASymlinkItselfNotItsTarget) {
  WriteAll(dir_.path() / "target.txt", "t");
  fs::create_symlink("target.txt", dir_.path() / "link");
  auto where = ArchiveVersion(*local_, "link", "r");
  ASSERT_TRUE(where.ok());
  EXPECT_TRUE(fs::is_symlink(*where));
  EXPECT_EQ(fs::read_symlink(*where), "target.txt");
  EXPECT_TRUE(fs::exists(dir_.path() / "target.txt"));
}

TEST_F(ArchiveTest, ArchivesAStagedFileAsTheVersionOfAPath) {
  WriteAll(local_->staging_dir() / "x.tmp", "theirs");
  auto where = ArchiveFileAs(*local_, local_->staging_dir() / "x.tmp", "d/e.txt", "r-remote");
  ASSERT_TRUE(where.ok()) << where.error().ToShortString();
  EXPECT_EQ(*where, dir_.path() / ".hx/archive/r-remote/d/e.txt");
  EXPECT_EQ(ReadAll(*where), "theirs");
}

TEST_F(ArchiveTest, RefusesPathsOutsideTheVaultAndBadReasons) {
  WriteAll(dir_.path() / "a.txt", "x");
  for (const char* bad : {"", "/etc/passwd", "../a.txt", "x/../a.txt", "./a.txt", ".hx/config.json",
                          "a.txt/", "a//b"}) {
    auto r = ArchiveVersion(*local_, bad, "r");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, SyncCode::kInputInvalid) << bad;
  }
  for (const std::string& bad : {std::string(), std::string("Upper"), std::string("a/b"),
                                std::string(".."), std::string(129, 'a')}) {
    auto r = ArchiveVersion(*local_, "a.txt", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, SyncCode::kInputInvalid) << bad;
  }
  EXPECT_TRUE(fs::exists(dir_.path() / "a.txt"));
}

TEST_F(ArchiveTest, MissingFileAndDirectoryAreApplyFailures) {
  auto missing = ArchiveVersion(*local_, "nope.txt", "r");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, SyncCode::kApplyFailed);
  EXPECT_EQ(missing.error().category, Category::kNotFound);
  fs::create_directories(dir_.path() / "dir");
  auto dir = ArchiveVersion(*local_, "dir", "r");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().code, SyncCode::kApplyFailed);
  EXPECT_TRUE(fs::is_directory(dir_.path() / "dir"));
}

// The vault boundary: neither end of an archive move or a conflict copy
// runs through a symlink, at any depth, nor into .hx/ from a content path.
TEST_F(ArchiveTest, NeverMovesThroughASymlinkedParentAtAnyDepth) {
  TempDir outside;
  WriteAll(outside.path() / "f.txt", "not the vault's");
  for (const std::string parent : {"p", "d1/p", "d1/d2/p"}) {
    SCOPED_TRACE(parent);
    fs::create_directories((dir_.path() / parent).parent_path());
    fs::create_directory_symlink(outside.path(), dir_.path() / parent);
    // Out of the vault through the symlink: refused, the outside file stays.
    auto archived = ArchiveVersion(*local_, parent + "/f.txt", "r");
    ASSERT_FALSE(archived.ok());
    EXPECT_EQ(archived.error().code, SyncCode::kApplyFailed);
    EXPECT_EQ(archived.error().category, Category::kConflict);
    EXPECT_EQ(ReadAll(outside.path() / "f.txt"), "not the vault's");
    // A conflict copy into (or out of) it: refused too.
    WriteAll(dir_.path() / "mine.txt", "mine");
    Status copied = MoveNoReplace(*local_, "mine.txt", parent + "/new/mine (conflict).txt");
    ASSERT_FALSE(copied.ok());
    EXPECT_EQ(copied.error().category, Category::kConflict);
    EXPECT_FALSE(MoveNoReplace(*local_, parent + "/f.txt", "taken.txt").ok());
    EXPECT_EQ(ReadAll(dir_.path() / "mine.txt"), "mine");
    EXPECT_FALSE(fs::exists(dir_.path() / "taken.txt"));
    fs::remove(dir_.path() / parent);
  }
  EXPECT_EQ(fs::directory_iterator(outside.path())->path().filename(), "f.txt");
  EXPECT_EQ(std::distance(fs::directory_iterator(outside.path()), fs::directory_iterator()), 1);
}

TEST_F(ArchiveTest, NeverArchivesIntoASymlinkedArchiveNorCopiesIntoHx) {
  TempDir outside;
  WriteAll(dir_.path() / "a.txt", "mine");
  fs::remove_all(dir_.path() / ".hx/archive");
  fs::create_directory_symlink(outside.path(), dir_.path() / ".hx/archive");
  auto archived = ArchiveVersion(*local_, "a.txt", "r");
  ASSERT_FALSE(archived.ok());
  EXPECT_EQ(archived.error().category, Category::kConflict);
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_EQ(ReadAll(dir_.path() / "a.txt"), "mine");
  Status copied = MoveNoReplace(*local_, "a.txt", ".hx/a (conflict).txt");
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().category, Category::kInvalidInput);
  EXPECT_EQ(ReadAll(dir_.path() / "a.txt"), "mine");
}

}  // namespace
}  // namespace hx
