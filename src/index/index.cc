#include "index/index.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "base/hex.h"
#include "index/row_codec.h"
#include "index/sqlite_db.h"

namespace hx {
namespace {

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

constexpr std::int64_t kFlagExecutable = 1;

// HasObjects: below this many ids, or when the table has more than this
// many rows per queried id, look each id up instead of scanning.
constexpr std::size_t kMinIdsForScan = 64;
constexpr std::uint64_t kScanRowsPerLookup = 8;

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

std::int64_t AsInt64(std::uint64_t value) { return static_cast<std::int64_t>(value); }
std::uint64_t AsUint64(std::int64_t value) { return static_cast<std::uint64_t>(value); }

std::uint64_t SumOfSizes(const std::vector<ChunkRef>& chunks) {
  std::uint64_t sum = 0;
  for (const ChunkRef& chunk : chunks) {
    sum += chunk.size;
  }
  return sum;
}

bool ReadId(std::span<const std::uint8_t> bytes, ObjectId& id) {
  if (bytes.size() != id.size()) {
    return false;
  }
  std::memcpy(id.data(), bytes.data(), id.size());
  return true;
}

constexpr char kStatCountSql[] = "SELECT count(*) FROM stat_cache";
constexpr char kStatLoadSql[] =
    "SELECT path, size, mtime_ns, ctime_ns, inode, mode, chunks FROM stat_cache";

Error CorruptRow(const SqliteDb& db, std::string_view what, std::string_view path) {
  return db.MakeCorruptError(std::string(what) + " (path " + std::string(path) + ")")
      .With("path", std::string(path));
}

Result<StatCache> ReadStatCache(const SqliteDb& db, SqliteStatement& count, SqliteStatement& load) {
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
    const std::string_view path = load.ColumnText(0);
    StatCacheEntry entry;
    entry.stat.size = AsUint64(load.ColumnInt64(1));
    entry.stat.mtime_ns = load.ColumnInt64(2);
    entry.stat.ctime_ns = load.ColumnInt64(3);
    entry.stat.inode = AsUint64(load.ColumnInt64(4));
    entry.stat.mode = static_cast<std::uint32_t>(load.ColumnInt64(5));
    Result<std::vector<ChunkRef>> chunks = DecodeChunkList(load.ColumnBlob(6));
    if (!chunks.ok()) {
      return CorruptRow(db, chunks.error().message, path);
    }
    entry.chunks = std::move(chunks).value();
    if (SumOfSizes(entry.chunks) != entry.stat.size) {
      return CorruptRow(db, "stat cache: chunk sizes do not sum to the file size", path);
    }
    cache.emplace(std::string(path), std::move(entry));
  }
  return cache;
}

}  // namespace

struct Index::Impl {
  std::filesystem::path file;
  std::unique_ptr<SqliteDb> db;
  bool transaction_open = false;

  SqliteStatement meta_get, meta_put, meta_delete;
  SqliteStatement base_load, base_put, base_delete, base_clear;
  SqliteStatement tree_load, tree_put, tree_delete, tree_clear;
  SqliteStatement stat_load, stat_count, stat_put, stat_delete, stat_clear;
  SqliteStatement blob_find, blob_insert;
  SqliteStatement object_find, object_has, object_insert, object_count, object_scan;
  SqliteStatement snapshot_put, snapshot_has, snapshot_load;

  Status PrepareAll();
  Status CreateOrCheckSchema();

  Error Corrupt(std::string_view what, std::string_view path) const {
    return CorruptRow(*db, what, path);
  }

  Status PutBase(std::string_view path, const Entry& entry);
  Status PutStat(std::string_view path, const StatCacheEntry& entry);
  Status PutTree(std::string_view path, const ObjectId& id);
  Status DeleteByPath(SqliteStatement& stmt, std::string_view path);
  Result<std::int64_t> BlobNumber(const std::string& blob_id);
};

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
      {&base_put, "INSERT OR REPLACE INTO base VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&base_delete, "DELETE FROM base WHERE path = ?1"},
      {&base_clear, "DELETE FROM base"},
      {&tree_load, "SELECT path, id FROM base_trees ORDER BY path"},
      {&tree_put, "INSERT OR REPLACE INTO base_trees VALUES(?1, ?2)"},
      {&tree_delete, "DELETE FROM base_trees WHERE path = ?1"},
      {&tree_clear, "DELETE FROM base_trees"},
      {&stat_load, kStatLoadSql},
      {&stat_count, kStatCountSql},
      {&stat_put, "INSERT OR REPLACE INTO stat_cache VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&stat_delete, "DELETE FROM stat_cache WHERE path = ?1"},
      {&stat_clear, "DELETE FROM stat_cache"},
      {&blob_find, "SELECT n FROM blobs WHERE id = ?1"},
      {&blob_insert, "INSERT INTO blobs(id) VALUES(?1)"},
      {&object_find,
       "SELECT o.kind, b.id, o.byte_offset, o.byte_length, o.raw_length "
       "FROM objects o JOIN blobs b ON b.n = o.blob WHERE o.id = ?1"},
      {&object_has, "SELECT 1 FROM objects WHERE id = ?1"},
      {&object_insert, "INSERT OR IGNORE INTO objects VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {&object_count, "SELECT count(*) FROM objects"},
      {&object_scan, "SELECT id FROM objects ORDER BY id"},
      {&snapshot_put, "INSERT OR REPLACE INTO snapshots(id, seq) VALUES(?1, ?2)"},
      {&snapshot_has, "SELECT 1 FROM snapshots WHERE id = ?1"},
      {&snapshot_load, "SELECT id, seq FROM snapshots ORDER BY seq, id"},
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
  if (version == kIndexSchemaVersion) {
    if (app_id != kApplicationId) {
      return db->MakeCorruptError("not an hx index (application_id " + std::to_string(app_id) +
                                  ")");
    }
    return OkStatus();
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
  // push that produced it has moved the head (see index.h). The cache sizes
  // make a 100,000-row load or rewrite stay in memory; mmap saves a copy
  // per page read.
  HX_RETURN_IF_ERROR(
      impl->db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; "
                     "PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456"));
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

Result<EntryMap> Index::LoadBase() {
  SqliteStatement& stmt = impl_->base_load;
  ScopedReset reset(stmt);
  EntryMap base;
  struct BytesHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view bytes) const {
      return std::hash<std::string_view>{}(bytes);
    }
  };
  std::unordered_map<std::string, VersionVector, BytesHash, std::equal_to<>> vectors;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) {
      break;
    }
    const std::string_view path = stmt.ColumnText(0);
    const std::optional<EntryKind> kind = KindFromCode(stmt.ColumnInt64(1));
    if (!kind) {
      return impl_->Corrupt("unknown entry kind " + std::to_string(stmt.ColumnInt64(1)), path);
    }
    Entry entry;
    entry.kind = *kind;
    entry.size = AsUint64(stmt.ColumnInt64(2));
    entry.executable = (stmt.ColumnInt64(3) & kFlagExecutable) != 0;
    entry.mtime_ns = stmt.ColumnInt64(4);
    if (!stmt.ColumnIsNull(5)) {
      Result<std::vector<ChunkRef>> chunks = DecodeChunkList(stmt.ColumnBlob(5));
      if (!chunks.ok()) {
        return impl_->Corrupt(chunks.error().message, path);
      }
      entry.chunks = std::move(chunks).value();
    }
    if (entry.kind == EntryKind::kFile && SumOfSizes(entry.chunks) != entry.size) {
      return impl_->Corrupt("chunk sizes do not sum to the file size", path);
    }
    if (!stmt.ColumnIsNull(6)) {
      entry.symlink_target = std::string(stmt.ColumnText(6));
    }
    // A vault's entries share few distinct vectors: decode each once and
    // let the entries share it (VersionVector is an immutable shared map).
    const std::span<const std::uint8_t> vv_bytes = stmt.ColumnBlob(7);
    const std::string_view vv_key(reinterpret_cast<const char*>(vv_bytes.data()),
                                  vv_bytes.size());
    auto known = vectors.find(vv_key);
    if (known == vectors.end()) {
      Result<VersionVector> vv = DecodeVersionVector(vv_bytes);
      if (!vv.ok()) {
        return impl_->Corrupt(vv.error().message, path);
      }
      known = vectors.emplace(std::string(vv_key), std::move(vv).value()).first;
    }
    entry.vv = known->second;
    // Rows arrive in path order, so every insertion is at the end: O(1).
    base.emplace_hint(base.end(), std::string(path), std::move(entry));
  }
  return base;
}

Result<StatCache> Index::LoadStatCache() {
  return ReadStatCache(*impl_->db, impl_->stat_count, impl_->stat_load);
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

Result<std::optional<ObjectLocation>> Index::FindObject(const ObjectId& id) {
  SqliteStatement& stmt = impl_->object_find;
  ScopedReset reset(stmt);
  stmt.BindBlob(1, id);
  HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) {
    return std::optional<ObjectLocation>();
  }
  ObjectLocation location;
  location.id = id;
  const std::int64_t kind = stmt.ColumnInt64(0);
  if (kind != static_cast<std::int64_t>(ObjectKind::kChunk) &&
      kind != static_cast<std::int64_t>(ObjectKind::kTree)) {
    return impl_->Corrupt("unknown object kind " + std::to_string(kind), ToHex(id));
  }
  location.kind = static_cast<ObjectKind>(kind);
  const std::span<const std::uint8_t> blob = stmt.ColumnBlob(1);
  if (blob.size() != 32) {
    return impl_->Corrupt("blob id is not 32 bytes", ToHex(id));
  }
  location.blob_id = ToHex(blob);
  location.offset = AsUint64(stmt.ColumnInt64(2));
  location.length = AsUint64(stmt.ColumnInt64(3));
  location.raw_length = AsUint64(stmt.ColumnInt64(4));
  return std::optional<ObjectLocation>(std::move(location));
}

Result<bool> Index::HasObject(const ObjectId& id) {
  SqliteStatement& stmt = impl_->object_has;
  ScopedReset reset(stmt);
  stmt.BindBlob(1, id);
  return stmt.Step();
}

Result<std::vector<bool>> Index::HasObjects(std::span<const ObjectId> ids) {
  std::vector<bool> found(ids.size(), false);
  // A lookup costs a few microseconds; a row of an ordered scan a tenth of
  // that. So for a batch that is large next to the table (a push of many
  // new files), one scan merged with the sorted ids beats a lookup per id.
  std::uint64_t count = 0;
  if (ids.size() >= kMinIdsForScan) {
    HX_ASSIGN_OR_RETURN(count, CountObjects());
  }
  if (ids.size() < kMinIdsForScan || count > kScanRowsPerLookup * ids.size()) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      HX_ASSIGN_OR_RETURN(const bool has, HasObject(ids[i]));
      found[i] = has;
    }
    return found;
  }
  std::vector<std::size_t> order(ids.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(),
            [&ids](std::size_t a, std::size_t b) { return ids[a] < ids[b]; });
  SqliteStatement& stmt = impl_->object_scan;
  ScopedReset reset(stmt);
  std::size_t next = 0;
  while (next < order.size()) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) {
      break;
    }
    ObjectId id;
    if (!ReadId(stmt.ColumnBlob(0), id)) {
      return impl_->db->MakeCorruptError("an object id is not 32 bytes");
    }
    // Both sides ascend: skip the queried ids below this row, mark equal ones.
    while (next < order.size() && ids[order[next]] < id) {
      ++next;
    }
    while (next < order.size() && ids[order[next]] == id) {
      found[order[next++]] = true;
    }
  }
  return found;
}

Result<std::uint64_t> Index::CountObjects() {
  SqliteStatement& stmt = impl_->object_count;
  ScopedReset reset(stmt);
  HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  return row ? AsUint64(stmt.ColumnInt64(0)) : 0;
}

Result<bool> Index::IsSnapshotImported(std::string_view snapshot_id) {
  SqliteStatement& stmt = impl_->snapshot_has;
  ScopedReset reset(stmt);
  stmt.BindText(1, snapshot_id);
  return stmt.Step();
}

Result<std::vector<ImportedSnapshot>> Index::LoadImportedSnapshots() {
  SqliteStatement& stmt = impl_->snapshot_load;
  ScopedReset reset(stmt);
  std::vector<ImportedSnapshot> snapshots;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) {
      break;
    }
    snapshots.push_back({std::string(stmt.ColumnText(0)), AsUint64(stmt.ColumnInt64(1))});
  }
  return snapshots;
}

Result<Index::Transaction> Index::Begin() {
  if (impl_->transaction_open) {
    return InternalError("local index: a transaction is already open");
  }
  HX_RETURN_IF_ERROR(impl_->db->Exec("BEGIN IMMEDIATE"));
  impl_->transaction_open = true;
  return Transaction(impl_.get());
}

Status Index::SetMeta(std::string_view key, std::string_view value) {
  HX_ASSIGN_OR_RETURN(Transaction txn, Begin());
  HX_RETURN_IF_ERROR(txn.SetMeta(key, value));
  return txn.Commit();
}

// --- Writes ---------------------------------------------------------------

Status Index::Impl::DeleteByPath(SqliteStatement& stmt, std::string_view path) {
  stmt.BindText(1, path);
  return stmt.Run();
}

Status Index::Impl::PutBase(std::string_view path, const Entry& entry) {
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

Status Index::Impl::PutTree(std::string_view path, const ObjectId& id) {
  tree_put.BindText(1, path);
  tree_put.BindBlob(2, id);
  return tree_put.Run();
}

Result<std::int64_t> Index::Impl::BlobNumber(const std::string& blob_id) {
  const std::optional<std::vector<std::uint8_t>> raw =
      IsLowerHex(blob_id, 64) ? FromHex(blob_id) : std::nullopt;
  if (!raw) {
    return InternalError("local index: blob id \"" + blob_id + "\" is not 64 lowercase hex");
  }
  {
    ScopedReset reset(blob_find);
    blob_find.BindBlob(1, *raw);
    HX_ASSIGN_OR_RETURN(const bool row, blob_find.Step());
    if (row) {
      return blob_find.ColumnInt64(0);
    }
  }
  blob_insert.BindBlob(1, *raw);
  HX_RETURN_IF_ERROR(blob_insert.Run());
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db->handle()));
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

Status Index::Transaction::AddObjects(std::span<const ObjectLocation> locations) {
  HX_RETURN_IF_ERROR(CheckOpen());
  // A push's objects come a pack at a time: remember the last pack's number
  // instead of looking it up per object.
  std::string last_blob;
  std::int64_t last_number = 0;
  for (const ObjectLocation& location : locations) {
    if (location.kind != ObjectKind::kChunk && location.kind != ObjectKind::kTree) {
      return InternalError("local index: unknown object kind " +
                           std::to_string(static_cast<int>(location.kind)));
    }
    if (last_blob.empty() || location.blob_id != last_blob) {
      HX_ASSIGN_OR_RETURN(last_number, impl_->BlobNumber(location.blob_id));
      last_blob = location.blob_id;
    }
    SqliteStatement& stmt = impl_->object_insert;
    stmt.BindBlob(1, location.id);
    stmt.BindInt64(2, static_cast<std::int64_t>(location.kind));
    stmt.BindInt64(3, last_number);
    stmt.BindInt64(4, AsInt64(location.offset));
    stmt.BindInt64(5, AsInt64(location.length));
    stmt.BindInt64(6, AsInt64(location.raw_length));
    HX_RETURN_IF_ERROR(stmt.Run());
  }
  return OkStatus();
}

Status Index::Transaction::ClearObjects() {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->db->Exec("DELETE FROM objects; DELETE FROM blobs; DELETE FROM snapshots");
}

Status Index::Transaction::MarkSnapshotImported(std::string_view snapshot_id, std::uint64_t seq) {
  HX_RETURN_IF_ERROR(CheckOpen());
  impl_->snapshot_put.BindText(1, snapshot_id);
  impl_->snapshot_put.BindInt64(2, AsInt64(seq));
  return impl_->snapshot_put.Run();
}

Status Index::Transaction::Commit() {
  HX_RETURN_IF_ERROR(CheckOpen());
  Index::Impl* impl = std::exchange(impl_, nullptr);
  impl->transaction_open = false;
  Status committed = impl->db->Exec("COMMIT");
  if (!committed.ok() && impl->db->InTransaction()) {
    (void)impl->db->Exec("ROLLBACK");
  }
  return committed;
}

}  // namespace hx
