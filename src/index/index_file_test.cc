// The index file itself: migration, foreign and damaged files, a newer hx,
// a missing folder, a full disk.
#include "index/index.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "base/hex.h"
#include "index/index_test_util.h"
#include "index/sqlite_db.h"

namespace hx {
namespace {

namespace fs = std::filesystem;
using namespace index_testing;  // NOLINT: the shared test vocabulary

TEST_F(IndexTest, AVersionOneIndexIsMigratedToVersionTwoKeepingEveryRow) {
  // A version 1 index as the hx before resumable pushes wrote it: the same
  // tables without the unpublished ones.
  {
    std::unique_ptr<Index> index = OpenOrDie(file());
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceBase(SampleBase()).ok());
    const std::vector<ObjectLocation> locations = {Location(1, 'a', 0)};
    ASSERT_TRUE(txn->AddObjects(locations).ok());
    ASSERT_TRUE(txn->SetMeta(kMetaBaseHeadSeq, "7").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  RawSql(file(),
         "DROP TABLE unpublished_objects; DROP TABLE unpublished_packs; PRAGMA user_version=1");

  std::unique_ptr<Index> index = OpenOrDie(file());
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(*index->LoadBase(), SampleBase());
  EXPECT_TRUE(*index->HasObject(Id(1)));
  EXPECT_EQ(*index->GetMeta(kMetaBaseHeadSeq), "7");
  EXPECT_TRUE(index->LoadUnpublishedPacks()->empty());
  const std::vector<ObjectLocation> in_b = {Location(3, 'b', 0)};
  {
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->AddUnpublishedPack({std::string(64, 'b'), 50}, in_b).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_TRUE(index->FindUnpublishedObject(Id(3))->has_value());
  index.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), 2);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(IndexTest, AVersionOneFileOfAnotherApplicationIsNotMigrated) {
  RawSql(file(), "CREATE TABLE songs(title TEXT); PRAGMA user_version=1");
  Result<std::unique_ptr<Index>> index = Index::Open(file());
  ASSERT_FALSE(index.ok());
  ExpectCorruptWithRebuildHint(index.error(), file());
}

TEST_F(IndexTest, AFileOfGarbageBytesIsCorruptWithARebuildHint) {
  {
    std::ofstream out(file(), std::ios::binary);
    for (int i = 0; i < 4096; ++i) {
      out.put(static_cast<char>((i * 131 + 7) & 0xff));
    }
  }
  Result<std::unique_ptr<Index>> index = Index::Open(file());
  ASSERT_FALSE(index.ok());
  ExpectCorruptWithRebuildHint(index.error(), file());
}

TEST_F(IndexTest, AForeignSqliteDatabaseIsNotTakenForAnIndex) {
  RawSql(file(), "CREATE TABLE songs(title TEXT)");
  Result<std::unique_ptr<Index>> index = Index::Open(file());
  ASSERT_FALSE(index.ok());
  ExpectCorruptWithRebuildHint(index.error(), file());
}

TEST_F(IndexTest, AnIndexFromANewerHxIsRefusedAsUnsupported) {
  OpenOrDie(file());
  RawSql(file(), "PRAGMA user_version=" + std::to_string(kIndexSchemaVersion + 1));
  Result<std::unique_ptr<Index>> index = Index::Open(file());
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(index.error().category, Category::kUnsupported);
  EXPECT_NE(index.error().message.find("newer hx"), std::string::npos);
  EXPECT_EQ(index.error().details.at("schema_version"), std::to_string(kIndexSchemaVersion + 1));
}

TEST_F(IndexTest, AMissingDirectoryIsAnIoError) {
  Result<std::unique_ptr<Index>> index = Index::Open(dir_.path() / "no" / "index.sqlite");
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(index.error().category, Category::kIo);
  EXPECT_NE(index.error().message.find("no/index.sqlite"), std::string::npos);
}

// Every connection opened while one is alive gets PRAGMA max_page_count:
// SQLite then meets a "full disk" exactly as on a real one (SQLITE_FULL),
// inside the Index's own connection.
class PageLimit {
 public:
  explicit PageLimit(int pages) {
    limit_ = pages;
    sqlite3_auto_extension(reinterpret_cast<void (*)()>(&Apply));
  }
  ~PageLimit() { sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&Apply)); }
  PageLimit(const PageLimit&) = delete;
  PageLimit& operator=(const PageLimit&) = delete;

 private:
  static int Apply(sqlite3* db, char** /*error*/, const void* /*api*/) {
    const std::string sql = "PRAGMA max_page_count=" + std::to_string(limit_);
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  static inline int limit_ = 0;
};

TEST_F(IndexTest, AFullDiskAtTheIndexIsNoSpaceNotIo) {
  OpenOrDie(file());  // the schema, written without a limit
  PageLimit limit(64);  // 256 KiB with 4 KiB pages
  std::unique_ptr<Index> index = OpenOrDie(file());
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(index->SetMeta("small", "fits").ok());
  Status full = index->SetMeta("large", std::string(std::size_t{1} << 20, 'x'));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, SyncCode::kStateFailed);
  EXPECT_EQ(full.error().category, Category::kNoSpace) << full.error().ToShortString();
  EXPECT_EQ(full.error().details.at("file"), file().string());
  EXPECT_NE(full.error().message.find("free some space"), std::string::npos);
  // Nothing half-written: the index still reads, without the large value.
  EXPECT_EQ(*index->GetMeta("small"), std::optional<std::string>("fits"));
  EXPECT_EQ(*index->GetMeta("large"), std::nullopt);
}

// A VFS over the default one whose -shm mapping fails as on a full disk:
// SQLite reports SQLITE_IOERR_SHMSIZE and errno ENOSPC (what hx met on a
// full tmpfs with a few KiB left, reported as category io before).
class FullShmVfs {
 public:
  FullShmVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "hx_full_shm";
    vfs_.pAppData = this;
    vfs_.xOpen = &Open;
    vfs_.xGetLastError = &GetLastError;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~FullShmVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, /*makeDflt=*/1);
  }
  FullShmVfs(const FullShmVfs&) = delete;
  FullShmVfs& operator=(const FullShmVfs&) = delete;

 private:
  static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out) {
    FullShmVfs* self = static_cast<FullShmVfs*>(vfs->pAppData);
    const int rc = self->real_->xOpen(self->real_, name, file, flags, out);
    // Only the database file maps the -shm (the -wal and journals get
    // methods without shared memory).
    if (rc == SQLITE_OK && (flags & SQLITE_OPEN_MAIN_DB) != 0 && file->pMethods != nullptr &&
        file->pMethods->iVersion >= 2) {
      real_methods_ = file->pMethods;
      self->methods_ = *file->pMethods;
      self->methods_.xShmMap = &ShmMap;
      file->pMethods = &self->methods_;
    }
    return rc;
  }
  // Maps as the real VFS does (so that its bookkeeping of the -shm file
  // stays whole and closing releases it), then reports the failure.
  static int ShmMap(sqlite3_file* file, int region, int size, int extend,
                    void volatile** mapped) {
    const int rc = real_methods_->xShmMap(file, region, size, extend, mapped);
    if (rc != SQLITE_OK) return rc;
    *mapped = nullptr;
    return SQLITE_IOERR_SHMSIZE;
  }
  static int GetLastError(sqlite3_vfs*, int, char*) { return ENOSPC; }

  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  static inline const sqlite3_io_methods* real_methods_ = nullptr;
};

TEST_F(IndexTest, AFullDiskMetWhileGrowingTheShmFileIsNoSpaceNotIo) {
  OpenOrDie(file());
  FullShmVfs full;
  Result<std::unique_ptr<Index>> index = Index::Open(file());
  ASSERT_FALSE(index.ok());
  const Error& e = index.error();
  EXPECT_EQ(e.code, SyncCode::kStateFailed);
  EXPECT_EQ(e.category, Category::kNoSpace) << e.ToShortString();
  EXPECT_EQ(e.details.at("errno"), std::to_string(ENOSPC));
  EXPECT_EQ(e.details.at("sqlite_code"), std::to_string(SQLITE_IOERR_SHMSIZE));
  EXPECT_NE(e.message.find("free some space"), std::string::npos) << e.message;
}

TEST(SqliteErrorTest, AFullDiskMetDuringAnyFileOperationIsNoSpace) {
  // SQLite returns SQLITE_FULL only for a short write; a full disk met
  // while syncing, truncating, growing the -shm or creating the -wal file is
  // an SQLITE_IOERR_* or SQLITE_CANTOPEN whose errno is ENOSPC (or EDQUOT).
  EXPECT_EQ(CategoryForSqlite(SQLITE_FULL, 0), Category::kNoSpace);
  EXPECT_EQ(CategoryForSqlite(SQLITE_IOERR_FSYNC, ENOSPC), Category::kNoSpace);
  EXPECT_EQ(CategoryForSqlite(SQLITE_IOERR_SHMSIZE, ENOSPC), Category::kNoSpace);
  EXPECT_EQ(CategoryForSqlite(SQLITE_IOERR_TRUNCATE, EDQUOT), Category::kNoSpace);
  EXPECT_EQ(CategoryForSqlite(SQLITE_IOERR_WRITE, ENOSPC), Category::kNoSpace);
  EXPECT_EQ(CategoryForSqlite(SQLITE_CANTOPEN, ENOSPC), Category::kNoSpace);
  // Other I/O errors stay io; other errnos do not make a code no_space.
  EXPECT_EQ(CategoryForSqlite(SQLITE_IOERR_WRITE, EIO), Category::kIo);
  EXPECT_EQ(CategoryForSqlite(SQLITE_IOERR_READ, 0), Category::kIo);
  EXPECT_EQ(CategoryForSqlite(SQLITE_CANTOPEN, ENOENT), Category::kIo);
  EXPECT_EQ(CategoryForSqlite(SQLITE_CORRUPT, ENOSPC), Category::kCorrupt);
  EXPECT_EQ(CategoryForSqlite(SQLITE_BUSY, 0), Category::kLocked);
}

TEST_F(IndexTest, ADamagedRowIsCorruptAndNamesItsPath) {
  {
    std::unique_ptr<Index> index = OpenOrDie(file());
    Result<Index::Transaction> txn = index->Begin();
    ASSERT_TRUE(txn->ReplaceBase(SampleBase()).ok());
    ASSERT_TRUE(txn->PutStat("s", Stat(5, 1)).ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  const std::vector<std::pair<std::string, std::string>> damages = {
      {"UPDATE base SET chunks = x'0102' WHERE path = 'a.txt'", "a.txt"},
      {"UPDATE base SET size = 6 WHERE path = 'a.txt'", "a.txt"},
      {"UPDATE base SET kind = 9 WHERE path = 'bin'", "bin"},
      {"UPDATE base SET vv = x'00' WHERE path = 'link'", "link"},
  };
  for (const auto& [sql, path] : damages) {
    TempDir copy_dir;
    const fs::path copy = copy_dir.path() / "index.sqlite";
    {
      // A checkpointed copy of the good file, then the damage.
      RawSql(file(), "PRAGMA wal_checkpoint(TRUNCATE)");
      fs::copy_file(file(), copy);
    }
    RawSql(copy, sql);
    std::unique_ptr<Index> index = OpenOrDie(copy);
    Result<EntryMap> base = index->LoadBase();
    ASSERT_FALSE(base.ok()) << sql;
    ExpectCorruptWithRebuildHint(base.error(), copy);
    EXPECT_EQ(base.error().details.at("path"), path);
  }
  RawSql(file(), "UPDATE stat_cache SET size = 4 WHERE path = 's'");
  Result<StatCache> cache = OpenOrDie(file())->LoadStatCache();
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.error().category, Category::kCorrupt);
  EXPECT_EQ(cache.error().details.at("path"), "s");
}

}  // namespace
}  // namespace hx
