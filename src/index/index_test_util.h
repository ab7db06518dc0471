// What the index tests share: a temporary folder, sample entries, stat
// cache rows and object locations, raw SQL on an index file (as a damaged or
// foreign writer would), and the fixture.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "base/temp_dir_test_util.h"
#include "index/index.h"

namespace hx::index_testing {

namespace fs = std::filesystem;

using hx::testing::TempDir;

inline constexpr char kNodeA[] = "0123456789abcdef0123456789abcdef";
inline constexpr char kNodeB[] = "fedcba9876543210fedcba9876543210";
inline constexpr char kSnapshot1[] = "1111111111111111111111111111111111111111111111111111111111111111";
inline constexpr char kSnapshot2[] = "2222222222222222222222222222222222222222222222222222222222222222";

inline ObjectId Id(std::uint8_t fill) {
  ObjectId id;
  id.fill(fill);
  return id;
}

inline VersionVector Vv(std::uint64_t a, std::uint64_t b = 0) {
  std::map<std::string, std::uint64_t> counters{{kNodeA, a}};
  if (b != 0) {
    counters.emplace(kNodeB, b);
  }
  return VersionVector(std::move(counters));
}

inline Entry File(std::uint64_t size, std::uint8_t id_fill, bool executable = false) {
  Entry entry;
  entry.kind = EntryKind::kFile;
  entry.size = size;
  if (size > 0) {
    entry.chunks.push_back({Id(id_fill), size});
  }
  entry.executable = executable;
  entry.mtime_ns = 1'700'000'000'123'456'789 + id_fill;
  entry.vv = Vv(id_fill, 2);
  return entry;
}

inline EntryMap SampleBase() {
  EntryMap base;
  base["a.txt"] = File(5, 1);
  base["bin/run.sh"] = File(3 << 20, 2, /*executable=*/true);
  base["bin/run.sh"].chunks = {{Id(3), 1 << 20}, {Id(4), 2 << 20}};
  base["bin"].kind = EntryKind::kDir;
  base["bin"].vv = Vv(1);
  base["empty"] = File(0, 5);
  base["link"].kind = EntryKind::kSymlink;
  base["link"].symlink_target = "../elsewhere/ünïcödé";
  base["link"].vv = Vv(7);
  base["gone.txt"].kind = EntryKind::kTombstone;
  base["gone.txt"].vv = Vv(3, 9);
  base["日本/ファイル.md"] = File(42, 6);
  return base;
}

inline StatCacheEntry Stat(std::uint64_t size, std::uint8_t id_fill) {
  StatCacheEntry entry;
  entry.stat = {size, 1'700'000'000'000'000'000, 1'700'000'000'500'000'000,
                std::uint64_t{1} << 63 | id_fill, 0100755};
  if (size > 0) {
    entry.chunks.push_back({Id(id_fill), size});
  }
  return entry;
}

inline ObjectLocation Location(std::uint8_t id_fill, char blob, std::uint64_t offset) {
  ObjectLocation location;
  location.id = Id(id_fill);
  location.kind = id_fill % 2 == 0 ? ObjectKind::kTree : ObjectKind::kChunk;
  location.blob_id = std::string(64, blob);
  location.offset = offset;
  location.length = 100 + id_fill;
  location.raw_length = 80 + id_fill;
  return location;
}

inline std::unique_ptr<Index> OpenOrDie(const fs::path& file) {
  Result<std::unique_ptr<Index>> index = Index::Open(file);
  EXPECT_TRUE(index.ok()) << index.error().ToShortString();
  return index.ok() ? std::move(index).value() : nullptr;
}

// Runs raw SQL on the file, as a damaged or foreign writer would.
inline void RawSql(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

// A corrupt index: KC_SYNC_STATE_FAILED naming the file, with the hint to
// delete it (it is rebuilt).
inline void ExpectCorruptWithRebuildHint(const Error& error, const fs::path& file) {
  EXPECT_EQ(error.code, SyncCode::kStateFailed);
  EXPECT_EQ(error.category, Category::kCorrupt);
  EXPECT_NE(error.message.find(file.string()), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("delete"), std::string::npos) << error.message;
  EXPECT_EQ(error.details.at("file"), file.string());
  EXPECT_TRUE(error.details.contains("hint"));
}

class IndexTest : public ::testing::Test {
 protected:
  fs::path file() const { return dir_.path() / "index.sqlite"; }
  TempDir dir_;
};


}  // namespace hx::index_testing
