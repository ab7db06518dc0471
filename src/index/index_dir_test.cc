// The per-directory reads of the index (index_dir.cc): a directory's
// children without its descendants, what lies below it, its tree id.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "index/index_test_util.h"

namespace hx::index_testing {
namespace {

Entry Dir() {
  Entry entry;
  entry.kind = EntryKind::kDir;
  entry.vv = Vv(1);
  return entry;
}

// Paths chosen so that a directory's contents sort among its siblings:
// "d" < "d-x" < "d.txt" < "d/..." < "d0" in bytes.
EntryMap NestedBase() {
  EntryMap base;
  base["d"] = Dir();
  base["d-x"] = File(1, 1);
  base["d.txt"] = File(2, 2);
  base["d/a"] = File(3, 3);
  base["d/e"] = Dir();
  base["d/e/deep"] = File(4, 4);
  base["d/e/f"] = Dir();
  base["d/e/f/deeper"] = File(5, 5);
  base["d/gone"].kind = EntryKind::kTombstone;
  base["d/gone"].vv = Vv(3, 9);
  base["d/z"] = File(6, 6);
  base["d0"] = File(7, 7);
  base["日本"] = Dir();
  base["日本/ファイル.md"] = File(8, 8);
  return base;
}

std::vector<std::string> Paths(const std::vector<std::pair<std::string, Entry>>& rows) {
  std::vector<std::string> out;
  for (const auto& [path, entry] : rows) out.push_back(path);
  return out;
}

class IndexDirTest : public IndexTest {
 protected:
  void SetUp() override {
    index_ = OpenOrDie(file());
    Result<Index::Transaction> txn = index_->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->ReplaceBase(NestedBase()).ok());
    StatCache cache;
    for (const auto& [path, entry] : NestedBase()) {
      if (entry.kind == EntryKind::kFile) cache.emplace(path, Stat(entry.size, entry.chunks[0].id[0]));
    }
    ASSERT_TRUE(txn->ReplaceStatCache(cache).ok());
    ASSERT_TRUE(txn->PutBaseTree("", Id(0x10)).ok());
    ASSERT_TRUE(txn->PutBaseTree("d/e", Id(0x11)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  std::unique_ptr<Index> index_;
};

TEST_F(IndexDirTest, BaseChildrenAreADirectorysOwnRowsInPathOrder) {
  Result<std::vector<std::pair<std::string, Entry>>> root = index_->LoadBaseChildren("");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Paths(*root), (std::vector<std::string>{"d", "d-x", "d.txt", "d0", "日本"}));
  Result<std::vector<std::pair<std::string, Entry>>> d = index_->LoadBaseChildren("d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Paths(*d), (std::vector<std::string>{"d/a", "d/e", "d/gone", "d/z"}));
  // The rows decode as the whole load does (kinds, vectors, chunks).
  const EntryMap base = NestedBase();
  for (const auto& [path, entry] : *d) EXPECT_EQ(entry, base.at(path)) << path;
  EXPECT_EQ(Paths(*index_->LoadBaseChildren("d/e/f")), std::vector<std::string>{"d/e/f/deeper"});
  EXPECT_TRUE(index_->LoadBaseChildren("d/a")->empty());  // a file: nothing below
  EXPECT_TRUE(index_->LoadBaseChildren("nowhere")->empty());
}

TEST_F(IndexDirTest, EveryRowBelowADirectoryIsVisitedInPathOrder) {
  std::vector<std::string> seen;
  ASSERT_TRUE(index_
                  ->ForEachBaseBelow("d",
                                     [&](std::string_view path, Entry&& entry) {
                                       EXPECT_EQ(entry, NestedBase().at(std::string(path)));
                                       seen.emplace_back(path);
                                       return OkStatus();
                                     })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"d/a", "d/e", "d/e/deep", "d/e/f", "d/e/f/deeper",
                                            "d/gone", "d/z"}));
  // The visitor's error ends the walk and is returned.
  int calls = 0;
  const Status stopped = index_->ForEachBaseBelow("", [&](std::string_view, Entry&&) {
    ++calls;
    return Status(InternalError("enough"));
  });
  EXPECT_FALSE(stopped.ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(IndexDirTest, StatCacheChildrenNameTheChildDirectoriesWithRowsBelow) {
  Result<Index::StatCacheChildren> root = index_->LoadStatCacheChildren("");
  ASSERT_TRUE(root.ok());
  std::vector<std::string> files;
  for (const auto& [path, entry] : root->files) files.push_back(path);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"d-x", "d.txt", "d0"}));
  EXPECT_EQ(root->files.at("d0"), Stat(7, 7));
  EXPECT_EQ(root->dirs, (std::vector<std::string>{"d", "日本"}));
  Result<Index::StatCacheChildren> d = index_->LoadStatCacheChildren("d");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->files.size(), 2u);  // d/a, d/z
  EXPECT_EQ(d->dirs, std::vector<std::string>{"e"});
  EXPECT_EQ(*index_->StatCachePathsBelow("d/e"),
            (std::vector<std::string>{"d/e/deep", "d/e/f/deeper"}));
}

TEST_F(IndexDirTest, ABaseTreeIdIsFoundByItsDirectory) {
  EXPECT_EQ(*index_->FindBaseTree(""), std::optional<ObjectId>(Id(0x10)));
  EXPECT_EQ(*index_->FindBaseTree("d/e"), std::optional<ObjectId>(Id(0x11)));
  EXPECT_EQ(*index_->FindBaseTree("d"), std::nullopt);
}

TEST_F(IndexDirTest, ADamagedRowIsCorruptNamingItsPath) {
  index_.reset();
  RawSql(file(), "UPDATE base SET kind = 9 WHERE path = 'd/z'");
  index_ = OpenOrDie(file());
  Result<std::vector<std::pair<std::string, Entry>>> d = index_->LoadBaseChildren("d");
  ASSERT_FALSE(d.ok());
  ExpectCorruptWithRebuildHint(d.error(), file());
  EXPECT_EQ(d.error().details.at("path"), "d/z");
}

}  // namespace
}  // namespace hx::index_testing
