// The stat cache table of the local index (index.h, stat_cache.h): its
// load and its writes.
#include <string>
#include <utility>

#include "index/index_internal.h"
#include "index/row_codec.h"

namespace hx {
namespace {

using index_internal::AsInt64;
using index_internal::AsUint64;
using index_internal::CorruptRow;
using index_internal::SumOfSizes;

Result<StatCache> ReadStatCache(const Index::Impl& impl, SqliteStatement& count,
                                SqliteStatement& load) {
  StatCache cache;
  {
    // Sizing the table first saves the rehashes of growing it row by row.
    ScopedReset reset(count);
    HX_ASSIGN_OR_RETURN(const bool row, count.Step());
    if (row) {
      cache.reserve(static_cast<std::size_t>(count.ColumnInt64(0)));
    }
  }
  ScopedReset reset(load);
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, load.Step());
    if (!row) {
      break;
    }
    HX_ASSIGN_OR_RETURN(StatCacheEntry entry, impl.ReadStatRow(load));
    cache.emplace(std::string(load.ColumnText(0)), std::move(entry));
  }
  return cache;
}

}  // namespace

Result<StatCacheEntry> Index::Impl::ReadStatRow(SqliteStatement& stmt) const {
  const std::string_view path = stmt.ColumnText(0);
  StatCacheEntry entry;
  entry.stat.size = AsUint64(stmt.ColumnInt64(1));
  entry.stat.mtime_ns = stmt.ColumnInt64(2);
  entry.stat.ctime_ns = stmt.ColumnInt64(3);
  entry.stat.inode = AsUint64(stmt.ColumnInt64(4));
  entry.stat.mode = static_cast<std::uint32_t>(stmt.ColumnInt64(5));
  Result<std::vector<ChunkRef>> chunks = DecodeChunkList(stmt.ColumnBlob(6));
  if (!chunks.ok()) {
    return CorruptRow(*db, chunks.error().message, path);
  }
  entry.chunks = std::move(chunks).value();
  if (SumOfSizes(entry.chunks) != entry.stat.size) {
    return CorruptRow(*db, "stat cache: chunk sizes do not sum to the file size", path);
  }
  return entry;
}

Result<StatCache> Index::LoadStatCache() {
  Result<StatCache> cache = ReadStatCache(*impl_, impl_->stat_count, impl_->stat_load);
  // The pages the load read are read once: SQLite's page cache (up to
  // 16 MiB, ~10 MB after 100,000 rows) is given back now instead of being
  // held through the scan that follows.
  sqlite3_db_release_memory(impl_->db->handle());
  return cache;
}

Status Index::Impl::PutStat(std::string_view path, const StatCacheEntry& entry) {
  const std::vector<std::uint8_t> chunks = EncodeChunkList(entry.chunks);
  SqliteStatement& stmt = stat_put;
  stmt.BindText(1, path);
  stmt.BindInt64(2, AsInt64(entry.stat.size));
  stmt.BindInt64(3, entry.stat.mtime_ns);
  stmt.BindInt64(4, entry.stat.ctime_ns);
  stmt.BindInt64(5, AsInt64(entry.stat.inode));
  stmt.BindInt64(6, entry.stat.mode);
  stmt.BindBlob(7, chunks);
  return stmt.Run();
}

Status Index::Transaction::PutStat(std::string_view path, const StatCacheEntry& entry) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->PutStat(path, entry);
}

Status Index::Transaction::DeleteStat(std::string_view path) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->DeleteByPath(impl_->stat_delete, path);
}

Status Index::Transaction::UpdateStatCache(const StatCache& before, const StatCache& after) {
  HX_RETURN_IF_ERROR(CheckOpen());
  for (const auto& [path, entry] : before) {
    if (!after.contains(path)) {
      HX_RETURN_IF_ERROR(impl_->DeleteByPath(impl_->stat_delete, path));
    }
  }
  for (const auto& [path, entry] : after) {
    const auto old = before.find(path);
    if (old == before.end() || !(old->second == entry)) {
      HX_RETURN_IF_ERROR(impl_->PutStat(path, entry));
    }
  }
  return OkStatus();
}

Status Index::Transaction::ApplyStatCacheChanges(const StatCacheChanges& changes) {
  HX_RETURN_IF_ERROR(CheckOpen());
  for (const std::string& path : changes.remove) {
    HX_RETURN_IF_ERROR(impl_->DeleteByPath(impl_->stat_delete, path));
  }
  for (const auto& [path, entry] : changes.put) {
    HX_RETURN_IF_ERROR(impl_->PutStat(path, entry));
  }
  return OkStatus();
}

Status Index::Transaction::ReplaceStatCache(const StatCache& cache) {
  HX_RETURN_IF_ERROR(CheckOpen());
  HX_RETURN_IF_ERROR(impl_->stat_clear.Run());
  for (const auto& [path, entry] : cache) {
    HX_RETURN_IF_ERROR(impl_->PutStat(path, entry));
  }
  return OkStatus();
}

}  // namespace hx
