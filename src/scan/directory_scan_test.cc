// DirectoryScanner (directory_scan.h): scanning every directory reached
// from the root, one call each, finds what one ScanVault finds.
#include "scan/directory_scan.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/temp_dir_test_util.h"
#include "chunk/gear_table.h"
#include "hash/blake3.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using hx::testing::TempDir;

ObjectId IdOf(std::span<const std::uint8_t> bytes) { return Blake3Hash(bytes); }

class DirectoryScanTest : public ::testing::Test {
 protected:
  DirectoryScanTest() : cdc_(std::move(FastCdc::Create({}, GearTable::Default())).value()) {
    root_ = dir_.path() / "vault";
    fs::create_directory(root_);
    options_.threads = 2;
    options_.now_ns = Env::Default().clock().WallNs() + 3'600'000'000'000;
    options_.collect_baseline = true;
  }
  void Write(const std::string& path, const std::string& bytes) {
    std::ofstream(root_ / path, std::ios::binary) << bytes;
  }

  TempDir dir_;
  fs::path root_;
  FastCdc cdc_;
  ScanOptions options_;
};

TEST_F(DirectoryScanTest, EveryDirectoryInTurnFindsWhatTheWholeScanFinds) {
  fs::create_directories(root_ / "a/b");
  fs::create_directories(root_ / "build");
  Write("a/b/x", std::string(5000, 'x'));
  Write("a-b", "sorts between a and a/");
  Write("a/y", "y");
  Write("build/out.o", "ignored");
  Write(".hxignore", "build/\n");
  fs::create_symlink("a/y", root_ / "link");

  Result<ScanResult> whole = ScanVault(root_, options_, StatCache(), cdc_, IdOf);
  ASSERT_TRUE(whole.ok());

  Result<std::unique_ptr<DirectoryScanner>> scanner =
      DirectoryScanner::Open(root_, options_, cdc_, IdOf);
  ASSERT_TRUE(scanner.ok());
  EntryMap entries;
  StatCache put;
  ScanStats stats;
  Result<DirectoryScan> root = (*scanner)->ScanRoot(StatCache());
  ASSERT_TRUE(root.ok());
  std::vector<DirectoryScan> todo;
  todo.push_back(std::move(*root));
  while (!todo.empty()) {
    DirectoryScan scan = std::move(todo.back());
    todo.pop_back();
    EXPECT_TRUE(scan.listed);
    EXPECT_TRUE(scan.errors.empty());
    EXPECT_TRUE(scan.baseline.has_value());
    AddScanStats(stats, scan.stats);
    for (auto& [path, entry] : scan.entries) entries.emplace(path, std::move(entry));
    put.merge(scan.stat_changes.put);
    for (const DirectoryScan::Subdir& dir : scan.subdirs) {
      entries[dir.path].kind = EntryKind::kDir;
      todo.push_back((*scanner)->Scan(dir, StatCache()));
    }
  }
  EXPECT_EQ(entries, whole->entries);
  EXPECT_EQ(put, whole->stat_changes.put);
  EXPECT_EQ(stats.files, whole->stats.files);
  EXPECT_EQ(stats.dirs, whole->stats.dirs);
  EXPECT_EQ(stats.symlinks, whole->stats.symlinks);
  EXPECT_EQ(stats.files_hashed, whole->stats.files_hashed);
  EXPECT_EQ(stats.ignored, whole->stats.ignored);
}

TEST_F(DirectoryScanTest, AReusedCacheRowIsConfirmedAndAStaleOneRemoved) {
  Write("kept", "k");
  Write("changed", "c");
  Result<ScanResult> first = ScanVault(root_, options_, StatCache(), cdc_, IdOf);
  ASSERT_TRUE(first.ok());
  StatCache cache = first->stat_changes.put;
  cache.emplace("gone", cache.at("kept"));
  Write("changed", "changed since");
  Result<std::unique_ptr<DirectoryScanner>> scanner =
      DirectoryScanner::Open(root_, options_, cdc_, IdOf);
  ASSERT_TRUE(scanner.ok());
  Result<DirectoryScan> root = (*scanner)->ScanRoot(std::move(cache));
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->stats.files_from_cache, 1u);
  EXPECT_EQ(root->stats.files_hashed, 1u);
  EXPECT_EQ(root->stat_changes.remove, std::vector<std::string>{"gone"});
  EXPECT_TRUE(root->stat_changes.put.contains("changed"));
}

TEST_F(DirectoryScanTest, ADirectoryGoneBeforeItsScanIsNotListedAndNotAnError) {
  fs::create_directory(root_ / "d");
  Result<std::unique_ptr<DirectoryScanner>> scanner =
      DirectoryScanner::Open(root_, options_, cdc_, IdOf);
  ASSERT_TRUE(scanner.ok());
  Result<DirectoryScan> root = (*scanner)->ScanRoot(StatCache());
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(root->subdirs.size(), 1u);
  fs::remove(root_ / "d");
  const DirectoryScan d = (*scanner)->Scan(root->subdirs[0], StatCache());
  EXPECT_FALSE(d.listed);
  EXPECT_TRUE(d.errors.empty());
  EXPECT_FALSE(d.baseline.has_value());
}

TEST_F(DirectoryScanTest, AMissingRootIsTheWholeScansError) {
  Result<std::unique_ptr<DirectoryScanner>> scanner =
      DirectoryScanner::Open(root_ / "nowhere", options_, cdc_, IdOf);
  ASSERT_FALSE(scanner.ok());
  EXPECT_EQ(scanner.error().category, Category::kNotFound);
}

}  // namespace
}  // namespace hx
