// The local index (index.h): opening and the schema, meta, the base state
// and base tree ids, and transactions. The stat cache is in
// index_stat_cache.cc, the object index in index_objects.cc.
#include "index/index.h"

#include <sys/random.h>

#include <array>
#include <charconv>
#include <utility>

#include "base/hex.h"
#include "index/index_internal.h"
#include "index/row_codec.h"

namespace hx {
namespace {

using index_internal::AsInt64;
using index_internal::AsUint64;
using index_internal::BaseVectors;
using index_internal::ReadId;
using index_internal::SumOfSizes;

// "hx" then the format generation: identifies the file as an hx index, so a
// foreign SQLite file is refused rather than written into.
constexpr std::int64_t kApplicationId = 0x68780001;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE base(
  path TEXT PRIMARY KEY NOT NULL,
  kind INTEGER NOT NULL,
  size INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  chunks BLOB,
  target TEXT,
  vv BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE base_trees(path TEXT PRIMARY KEY NOT NULL, id BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE stat_cache(
  path TEXT PRIMARY KEY NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  chunks BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE blobs(n INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE);
CREATE TABLE objects(
  id BLOB PRIMARY KEY NOT NULL,
  kind INTEGER NOT NULL,
  blob INTEGER NOT NULL,
  byte_offset INTEGER NOT NULL,
  byte_length INTEGER NOT NULL,
  raw_length INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE snapshots(id TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// What schema version 2 added (kSchema above is version 1): the packs this
// device uploaded that no published snapshot lists yet (index.h). Run on a
// new index after kSchema, and on a version 1 index to migrate it.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE unpublished_packs(id BLOB PRIMARY KEY NOT NULL, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE unpublished_objects(
  id BLOB PRIMARY KEY NOT NULL,
  kind INTEGER NOT NULL,
  pack BLOB NOT NULL,
  byte_offset INTEGER NOT NULL,
  byte_length INTEGER NOT NULL,
  raw_length INTEGER NOT NULL) WITHOUT ROWID;
)sql";

constexpr std::int64_t kFlagExecutable = 1;

// SQLite's page cache (KiB): outside a write transaction, and within one.
constexpr std::int64_t kReadCacheKiB = 16384;
constexpr std::int64_t kWriteCacheKiB = 2048;

std::int64_t KindCode(EntryKind kind) {
  switch (kind) {
    case EntryKind::kFile:
      return 0;
    case EntryKind::kDir:
      return 1;
    case EntryKind::kSymlink:
      return 2;
    case EntryKind::kTombstone:
      return 3;
  }
  return -1;
}

std::optional<EntryKind> KindFromCode(std::int64_t code) {
  switch (code) {
    case 0:
      return EntryKind::kFile;
    case 1:
      return EntryKind::kDir;
    case 2:
      return EntryKind::kSymlink;
    case 3:
      return EntryKind::kTombstone;
    default:
      return std::nullopt;
  }
}

// Gives the base a fresh random kMetaBaseToken in the open transaction.
// If the kernel has no random bytes to give, the token is removed instead:
// nothing can then claim to match the base (a cache misses, and is rebuilt).
Status RenewBaseToken(Index::Impl& impl) {
  std::array<std::uint8_t, 16> bytes{};
  if (::getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return impl.DeleteByPath(impl.meta_delete, kMetaBaseToken);
  }
  const std::string token = ToHex(bytes);  // bound without a copy: must outlive Run()
  impl.meta_put.BindText(1, kMetaBaseToken);
  impl.meta_put.BindText(2, token);
  return impl.meta_put.Run();
}

}  // namespace

Status Index::Impl::PrepareAll() {
  struct Item {
    SqliteStatement* stmt;
    std::string_view sql;
  };
  const Item items[] = {
      {&meta_get, "SELECT value FROM meta WHERE key = ?1"},
      {&meta_put, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"},
      {&meta_delete, "DELETE FROM meta WHERE key = ?1"},
      {&base_load,
       "SELECT path, kind, size, flags, mtime_ns, chunks, target, vv FROM base ORDER BY path"},
      {&base_range,
       "SELECT path, kind, size, flags, mtime_ns, chunks, target, vv FROM base "
       "WHERE path >= ?1 AND path < ?2 ORDER BY path"},
      {&base_put, "INSERT OR REPLACE INTO base VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&base_delete, "DELETE FROM base WHERE path = ?1"},
      {&base_clear, "DELETE FROM base"},
      {&tree_load, "SELECT path, id FROM base_trees ORDER BY path"},
      {&tree_find, "SELECT id FROM base_trees WHERE path = ?1"},
      {&tree_put, "INSERT OR REPLACE INTO base_trees VALUES(?1, ?2)"},
      {&tree_delete, "DELETE FROM base_trees WHERE path = ?1"},
      {&tree_clear, "DELETE FROM base_trees"},
      {&stat_load, "SELECT path, size, mtime_ns, ctime_ns, inode, mode, chunks FROM stat_cache"},
      {&stat_range,
       "SELECT path, size, mtime_ns, ctime_ns, inode, mode, chunks FROM stat_cache "
       "WHERE path >= ?1 AND path < ?2 ORDER BY path"},
      {&stat_count, "SELECT count(*) FROM stat_cache"},
      {&stat_put, "INSERT OR REPLACE INTO stat_cache VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&stat_delete, "DELETE FROM stat_cache WHERE path = ?1"},
      {&stat_clear, "DELETE FROM stat_cache"},
      {&blob_find, "SELECT n FROM blobs WHERE id = ?1"},
      {&blob_insert, "INSERT INTO blobs(id) VALUES(?1)"},
      {&object_find,
       "SELECT o.kind, b.id, o.byte_offset, o.byte_length, o.raw_length "
       "FROM objects o JOIN blobs b ON b.n = o.blob WHERE o.id = ?1"},
      {&object_has, "SELECT 1 FROM objects WHERE id = ?1"},
      {&object_insert, "INSERT OR REPLACE INTO objects VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {&object_delete_pack,
       "DELETE FROM objects WHERE blob = (SELECT n FROM blobs WHERE id = ?1)"},
      {&object_count, "SELECT count(*) FROM objects"},
      {&object_scan, "SELECT id FROM objects ORDER BY id"},
      {&snapshot_put, "INSERT OR REPLACE INTO snapshots(id, seq) VALUES(?1, ?2)"},
      {&snapshot_has, "SELECT 1 FROM snapshots WHERE id = ?1"},
      {&snapshot_load, "SELECT id, seq FROM snapshots ORDER BY seq, id"},
      {&unpublished_pack_put, "INSERT OR REPLACE INTO unpublished_packs VALUES(?1, ?2)"},
      {&unpublished_pack_load, "SELECT id, size FROM unpublished_packs ORDER BY id"},
      {&unpublished_pack_delete, "DELETE FROM unpublished_packs WHERE id = ?1"},
      {&unpublished_object_put,
       "INSERT OR IGNORE INTO unpublished_objects VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {&unpublished_object_find,
       "SELECT kind, pack, byte_offset, byte_length, raw_length FROM unpublished_objects "
       "WHERE id = ?1"},
      {&unpublished_object_delete_pack, "DELETE FROM unpublished_objects WHERE pack = ?1"},
  };
  for (const Item& item : items) {
    HX_ASSIGN_OR_RETURN(*item.stmt, db->Prepare(item.sql));
  }
  return OkStatus();
}

Status Index::Impl::CreateOrCheckSchema() {
  // The first read of the file: a garbage file fails here (SQLITE_NOTADB).
  HX_ASSIGN_OR_RETURN(const std::int64_t version, db->QueryInt64("PRAGMA user_version"));
  HX_ASSIGN_OR_RETURN(const std::int64_t app_id, db->QueryInt64("PRAGMA application_id"));
  if (version > kIndexSchemaVersion) {
    return Error(SyncCode::kStateFailed, Category::kUnsupported,
                 "local index " + db->file() + " has schema version " + std::to_string(version) +
                     ", written by a newer hx; this hx reads version " +
                     std::to_string(kIndexSchemaVersion) +
                     ". Upgrade hx, or delete the file and hx rebuilds it")
        .With("file", db->file())
        .With("schema_version", std::to_string(version));
  }
  if (version != 0 && app_id != kApplicationId) {
    return db->MakeCorruptError("not an hx index (application_id " + std::to_string(app_id) +
                                ")");
  }
  if (version == kIndexSchemaVersion) {
    return OkStatus();
  }
  if (version == 1) {
    // Written by an hx before resumable pushes: add what version 2 added
    // (empty tables: nothing was recorded as unpublished) in one
    // transaction, so a crash leaves version 1 or version 2, never a mix.
    HX_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
    Status migrated = db->Exec(kSchemaV2);
    if (migrated.ok()) {
      migrated = db->Exec(("PRAGMA user_version=" + std::to_string(kIndexSchemaVersion)).c_str());
    }
    if (migrated.ok()) {
      migrated = db->Exec("COMMIT");
    }
    if (!migrated.ok() && db->InTransaction()) {
      (void)db->Exec("ROLLBACK");
    }
    return migrated;
  }
  // Version 0: a new, empty database, or someone else's.
  HX_ASSIGN_OR_RETURN(const std::int64_t objects,
                      db->QueryInt64("SELECT count(*) FROM sqlite_schema"));
  if (objects != 0 || app_id != 0) {
    return db->MakeCorruptError("not an hx index (a database with other tables)");
  }
  HX_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  Status created = db->Exec(kSchema);
  if (created.ok()) {
    created = db->Exec(kSchemaV2);
  }
  if (created.ok()) {
    created = db->Exec(("PRAGMA application_id=" + std::to_string(kApplicationId) +
                        "; PRAGMA user_version=" + std::to_string(kIndexSchemaVersion))
                           .c_str());
  }
  if (created.ok()) {
    created = db->Exec("COMMIT");
  }
  if (!created.ok()) {
    if (db->InTransaction()) {
      (void)db->Exec("ROLLBACK");
    }
    return created;
  }
  return OkStatus();
}

Result<std::unique_ptr<Index>> Index::Open(const std::filesystem::path& file) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  HX_ASSIGN_OR_RETURN(impl->db, SqliteDb::Open(file.string()));
  HX_RETURN_IF_ERROR(impl->CreateOrCheckSchema());
  // synchronous=FULL: the base state must survive a power cut once the
  // push that produced it has moved the head (see index.h). The page cache
  // (16 MiB) keeps the pages a lookup needs in memory; a write transaction
  // runs with a smaller one (Begin: kWriteCacheKiB). No mmap: a load
  // touches every page of the file, and mapped pages count in the process's
  // resident memory for as long as it runs (33 MB at 100,000 files, most of
  // the long-running agent's file-backed RSS); a read copies a page instead.
  HX_RETURN_IF_ERROR(
      impl->db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; "
                     "PRAGMA mmap_size=0"));
  HX_RETURN_IF_ERROR(impl->SetCacheKiB(kReadCacheKiB));
  HX_RETURN_IF_ERROR(impl->PrepareAll());
  return std::make_unique<Index>(std::move(impl));
}

Index::Index(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Index::~Index() = default;

const std::filesystem::path& Index::file() const { return impl_->file; }

Result<std::optional<std::string>> Index::GetMeta(std::string_view key) {
  SqliteStatement& stmt = impl_->meta_get;
  ScopedReset reset(stmt);
  stmt.BindText(1, key);
  HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(stmt.ColumnText(0));
}

Result<std::optional<std::uint64_t>> Index::GetMetaUint64(std::string_view key) {
  HX_ASSIGN_OR_RETURN(const std::optional<std::string> text, GetMeta(key));
  if (!text) {
    return std::optional<std::uint64_t>();
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size()) {
    return impl_->db->MakeCorruptError("meta value " + std::string(key) +
                                       " is not a decimal number");
  }
  return std::optional<std::uint64_t>(value);
}

Result<Entry> Index::Impl::ReadBaseRow(SqliteStatement& stmt, BaseVectors& vectors) const {
  const std::string_view path = stmt.ColumnText(0);
  const std::optional<EntryKind> kind = KindFromCode(stmt.ColumnInt64(1));
  if (!kind) {
    return Corrupt("unknown entry kind " + std::to_string(stmt.ColumnInt64(1)), path);
  }
  Entry entry;
  entry.kind = *kind;
  entry.size = AsUint64(stmt.ColumnInt64(2));
  entry.executable = (stmt.ColumnInt64(3) & kFlagExecutable) != 0;
  entry.mtime_ns = stmt.ColumnInt64(4);
  if (!stmt.ColumnIsNull(5)) {
    Result<std::vector<ChunkRef>> chunks = DecodeChunkList(stmt.ColumnBlob(5));
    if (!chunks.ok()) {
      return Corrupt(chunks.error().message, path);
    }
    entry.chunks = std::move(chunks).value();
  }
  if (entry.kind == EntryKind::kFile && SumOfSizes(entry.chunks) != entry.size) {
    return Corrupt("chunk sizes do not sum to the file size", path);
  }
  if (!stmt.ColumnIsNull(6)) {
    entry.symlink_target = std::string(stmt.ColumnText(6));
  }
  // A vault's entries share few distinct vectors: decode each once and
  // let the entries share it (VersionVector is an immutable shared map).
  const std::span<const std::uint8_t> vv_bytes = stmt.ColumnBlob(7);
  const std::string_view vv_key(reinterpret_cast<const char*>(vv_bytes.data()), vv_bytes.size());
  auto known = vectors.find(vv_key);
  if (known == vectors.end()) {
    Result<VersionVector> vv = DecodeVersionVector(vv_bytes);
    if (!vv.ok()) {
      return Corrupt(vv.error().message, path);
    }
    known = vectors.emplace(std::string(vv_key), std::move(vv).value()).first;
  }
  entry.vv = known->second;
  return entry;
}

Result<EntryMap> Index::LoadBase() {
  SqliteStatement& stmt = impl_->base_load;
  ScopedReset reset(stmt);
  EntryMap base;
  BaseVectors vectors;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) {
      break;
    }
    HX_ASSIGN_OR_RETURN(Entry entry, impl_->ReadBaseRow(stmt, vectors));
    // Rows arrive in path order, so every insertion is at the end: O(1).
    base.emplace_hint(base.end(), std::string(stmt.ColumnText(0)), std::move(entry));
  }
  // As after the stat cache's load (index_stat_cache.cc): the page cache the
  // load filled is given back while the caller holds the entries.
  sqlite3_db_release_memory(impl_->db->handle());
  return base;
}

Result<TreeIdMap> Index::LoadBaseTrees() {
  SqliteStatement& stmt = impl_->tree_load;
  ScopedReset reset(stmt);
  TreeIdMap trees;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) {
      break;
    }
    const std::string_view path = stmt.ColumnText(0);
    ObjectId id;
    if (!ReadId(stmt.ColumnBlob(1), id)) {
      return impl_->Corrupt("base tree id is not 32 bytes", path);
    }
    trees.emplace_hint(trees.end(), std::string(path), id);
  }
  return trees;
}

Result<Index::Transaction> Index::Begin() {
  if (impl_->transaction_open) {
    return InternalError("local index: a transaction is already open");
  }
  // A write transaction's pages are written in key order (a merge walk, a
  // sorted map, ids sorted): a small cache spills the filled ones to the
  // WAL as it goes instead of holding a 100,000-row rewrite (16 MiB of
  // pages at a first pull's commit, the peak of its resident memory).
  HX_RETURN_IF_ERROR(impl_->SetCacheKiB(kWriteCacheKiB));
  if (Status begun = impl_->db->Exec("BEGIN IMMEDIATE"); !begun.ok()) {
    (void)impl_->SetCacheKiB(kReadCacheKiB);
    return std::move(begun).error();
  }
  impl_->transaction_open = true;
  impl_->base_touched = false;
  return Transaction(impl_.get());
}

Status Index::SetMeta(std::string_view key, std::string_view value) {
  HX_ASSIGN_OR_RETURN(Transaction txn, Begin());
  HX_RETURN_IF_ERROR(txn.SetMeta(key, value));
  return txn.Commit();
}

// --- Writes ---------------------------------------------------------------

Status Index::Impl::DeleteByPath(SqliteStatement& stmt, std::string_view path) {
  if (&stmt == &base_delete) {
    base_touched = true;
  }
  stmt.BindText(1, path);
  return stmt.Run();
}

Status Index::Impl::PutBase(std::string_view path, const Entry& entry) {
  base_touched = true;
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> vv, EncodeVersionVector(entry.vv));
  const std::vector<std::uint8_t> chunks = EncodeChunkList(entry.chunks);
  SqliteStatement& stmt = base_put;
  stmt.BindText(1, path);
  stmt.BindInt64(2, KindCode(entry.kind));
  stmt.BindInt64(3, AsInt64(entry.size));
  stmt.BindInt64(4, entry.executable ? kFlagExecutable : 0);
  stmt.BindInt64(5, entry.mtime_ns);
  if (entry.chunks.empty() && entry.kind != EntryKind::kFile) {
    stmt.BindNull(6);
  } else {
    stmt.BindBlob(6, chunks);
  }
  if (entry.symlink_target.empty()) {
    stmt.BindNull(7);
  } else {
    stmt.BindText(7, entry.symlink_target);
  }
  stmt.BindBlob(8, vv);
  return stmt.Run();
}

Status Index::Impl::PutTree(std::string_view path, const ObjectId& id) {
  tree_put.BindText(1, path);
  tree_put.BindBlob(2, id);
  return tree_put.Run();
}

Index::Transaction::Transaction(Transaction&& other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)) {}

Index::Transaction::~Transaction() {
  if (impl_ != nullptr) {
    if (impl_->db->InTransaction()) {
      // Nothing to report a failure to: a rollback that fails leaves the
      // transaction to be rolled back when the connection closes.
      (void)impl_->db->Exec("ROLLBACK");
    }
    impl_->transaction_open = false;
    (void)impl_->SetCacheKiB(kReadCacheKiB);
  }
}

Status Index::Transaction::CheckOpen() const {
  if (impl_ == nullptr) {
    return InternalError("local index: the transaction is already committed");
  }
  return OkStatus();
}

Status Index::Transaction::SetMeta(std::string_view key, std::string_view value) {
  HX_RETURN_IF_ERROR(CheckOpen());
  impl_->meta_put.BindText(1, key);
  impl_->meta_put.BindText(2, value);
  return impl_->meta_put.Run();
}

Status Index::Transaction::DeleteMeta(std::string_view key) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->DeleteByPath(impl_->meta_delete, key);
}

Status Index::Transaction::PutBase(std::string_view path, const Entry& entry) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->PutBase(path, entry);
}

Status Index::Transaction::DeleteBase(std::string_view path) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->DeleteByPath(impl_->base_delete, path);
}

Status Index::Transaction::ClearBase() {
  HX_RETURN_IF_ERROR(CheckOpen());
  impl_->base_touched = true;
  return impl_->base_clear.Run();
}

Status Index::Transaction::UpdateBase(const EntryMap& before, const EntryMap& after) {
  HX_RETURN_IF_ERROR(CheckOpen());
  // A merge walk over the two sorted maps: linear, no lookups.
  auto old_it = before.begin();
  auto new_it = after.begin();
  while (old_it != before.end() || new_it != after.end()) {
    if (new_it == after.end() || (old_it != before.end() && old_it->first < new_it->first)) {
      HX_RETURN_IF_ERROR(impl_->DeleteByPath(impl_->base_delete, old_it->first));
      ++old_it;
    } else if (old_it == before.end() || new_it->first < old_it->first) {
      HX_RETURN_IF_ERROR(impl_->PutBase(new_it->first, new_it->second));
      ++new_it;
    } else {
      if (!(old_it->second == new_it->second)) {
        HX_RETURN_IF_ERROR(impl_->PutBase(new_it->first, new_it->second));
      }
      ++old_it;
      ++new_it;
    }
  }
  return OkStatus();
}

Status Index::Transaction::UpdateBasePaths(const EntryMap& after,
                                          const std::vector<std::string>& paths) {
  HX_RETURN_IF_ERROR(CheckOpen());
  for (const std::string& path : paths) {
    const auto it = after.find(path);
    if (it == after.end()) {
      HX_RETURN_IF_ERROR(impl_->DeleteByPath(impl_->base_delete, path));
    } else {
      HX_RETURN_IF_ERROR(impl_->PutBase(it->first, it->second));
    }
  }
  return OkStatus();
}

Status Index::Transaction::ReplaceBase(const EntryMap& base) {
  HX_RETURN_IF_ERROR(ClearBase());
  for (const auto& [path, entry] : base) {
    HX_RETURN_IF_ERROR(impl_->PutBase(path, entry));
  }
  return OkStatus();
}

Status Index::Transaction::PutBaseTree(std::string_view dir_path, const ObjectId& id) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->PutTree(dir_path, id);
}

Status Index::Transaction::DeleteBaseTree(std::string_view dir_path) {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->DeleteByPath(impl_->tree_delete, dir_path);
}

Status Index::Transaction::UpdateBaseTrees(const TreeIdMap& before, const TreeIdMap& after) {
  HX_RETURN_IF_ERROR(CheckOpen());
  for (const auto& [path, id] : before) {
    if (!after.contains(path)) {
      HX_RETURN_IF_ERROR(impl_->DeleteByPath(impl_->tree_delete, path));
    }
  }
  for (const auto& [path, id] : after) {
    const auto old = before.find(path);
    if (old == before.end() || old->second != id) {
      HX_RETURN_IF_ERROR(impl_->PutTree(path, id));
    }
  }
  return OkStatus();
}

Status Index::Transaction::ReplaceBaseTrees(const TreeIdMap& trees) {
  HX_RETURN_IF_ERROR(CheckOpen());
  HX_RETURN_IF_ERROR(impl_->tree_clear.Run());
  for (const auto& [path, id] : trees) {
    HX_RETURN_IF_ERROR(impl_->PutTree(path, id));
  }
  return OkStatus();
}

Status Index::Transaction::Commit() {
  HX_RETURN_IF_ERROR(CheckOpen());
  if (impl_->base_touched) {
    // Whatever was derived from the base outside this file (the scan
    // baseline of scan/baseline.h) names the token it was derived from;
    // a base that changed gets a token nobody has seen.
    HX_RETURN_IF_ERROR(RenewBaseToken(*impl_));
  }
  Index::Impl* impl = std::exchange(impl_, nullptr);
  impl->transaction_open = false;
  Status committed = impl->db->Exec("COMMIT");
  if (!committed.ok() && impl->db->InTransaction()) {
    (void)impl->db->Exec("ROLLBACK");
  }
  // The pages a transaction wrote are on disk now: SQLite's page cache
  // (up to 16 MiB after a large write, e.g. 100,000 stat cache rows) is
  // given back rather than held through what the caller does next (a push
  // stores the scan's stat cache changes, then loads the base).
  sqlite3_db_release_memory(impl->db->handle());
  if (Status read_cache = impl->SetCacheKiB(kReadCacheKiB); committed.ok()) return read_cache;
  return committed;
}

}  // namespace hx
