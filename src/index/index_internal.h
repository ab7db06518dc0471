// What index.cc, index_stat_cache.cc and index_objects.cc share: the
// definition of Index::Impl (the open database and its prepared
// statements) and small row helpers. Internal to the index module.
//
// Thread-safety: as Index (one thread at a time).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "index/index.h"
#include "index/sqlite_db.h"

namespace hx {
namespace index_internal {

// uint64 values are stored as their int64 bit pattern (see index.h).
inline std::int64_t AsInt64(std::uint64_t value) { return static_cast<std::int64_t>(value); }
inline std::uint64_t AsUint64(std::int64_t value) { return static_cast<std::uint64_t>(value); }

inline std::uint64_t SumOfSizes(const std::vector<ChunkRef>& chunks) {
  std::uint64_t sum = 0;
  for (const ChunkRef& chunk : chunks) {
    sum += chunk.size;
  }
  return sum;
}

// Copies a 32-byte column into `id`; false if it is not 32 bytes.
inline bool ReadId(std::span<const std::uint8_t> bytes, ObjectId& id) {
  if (bytes.size() != id.size()) {
    return false;
  }
  std::memcpy(id.data(), bytes.data(), id.size());
  return true;
}

// A row that does not decode: category corrupt, naming the path.
inline Error CorruptRow(const SqliteDb& db, std::string_view what, std::string_view path) {
  return db.MakeCorruptError(std::string(what) + " (path " + std::string(path) + ")")
      .With("path", std::string(path));
}

// The version vectors a read of base rows decoded so far, by their encoded
// bytes: rows share few distinct vectors, each decoded once.
struct BytesHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view bytes) const {
    return std::hash<std::string_view>{}(bytes);
  }
};
using BaseVectors = std::unordered_map<std::string, VersionVector, BytesHash, std::equal_to<>>;

}  // namespace index_internal

struct Index::Impl {
  std::filesystem::path file;
  std::unique_ptr<SqliteDb> db;
  bool transaction_open = false;
  // Set by every write to the base rows of the open transaction: its
  // commit then gives the base a new kMetaBaseToken.
  bool base_touched = false;

  SqliteStatement meta_get, meta_put, meta_delete;
  SqliteStatement base_load, base_range, base_put, base_delete, base_clear;
  SqliteStatement tree_load, tree_find, tree_put, tree_delete, tree_clear;
  SqliteStatement stat_load, stat_range, stat_count, stat_put, stat_delete, stat_clear;
  SqliteStatement blob_find, blob_insert;
  SqliteStatement object_find, object_has, object_insert, object_count, object_scan,
      object_delete_pack;
  SqliteStatement snapshot_put, snapshot_has, snapshot_load;
  SqliteStatement unpublished_pack_put, unpublished_pack_load, unpublished_pack_delete;
  SqliteStatement unpublished_object_put, unpublished_object_find, unpublished_object_delete_pack;

  Status PrepareAll();
  Status CreateOrCheckSchema();
  // PRAGMA cache_size: at most `kib` KiB of pages in SQLite's page cache.
  Status SetCacheKiB(std::int64_t kib) {
    return db->Exec(("PRAGMA cache_size=-" + std::to_string(kib)).c_str());
  }

  Error Corrupt(std::string_view what, std::string_view path) const {
    return index_internal::CorruptRow(*db, what, path);
  }

  // The Entry of the current row of base_load or base_range (columns path,
  // kind, size, flags, mtime_ns, chunks, target, vv); corrupt naming the
  // path if it does not decode.
  Result<Entry> ReadBaseRow(SqliteStatement& stmt, index_internal::BaseVectors& vectors) const;
  // The same for stat_load or stat_range (path, size, mtime_ns, ctime_ns,
  // inode, mode, chunks).
  Result<StatCacheEntry> ReadStatRow(SqliteStatement& stmt) const;

  Status PutBase(std::string_view path, const Entry& entry);
  Status PutStat(std::string_view path, const StatCacheEntry& entry);
  Status PutTree(std::string_view path, const ObjectId& id);
  Status DeleteByPath(SqliteStatement& stmt, std::string_view path);
  Result<std::int64_t> BlobNumber(const std::string& blob_id);
};

}  // namespace hx
