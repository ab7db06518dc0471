// The object index of the local index (index.h): where each object the
// store holds lives (pack, offset, length), the packs by number, and the
// snapshots whose bodies were imported.
#include <algorithm>
#include <string>
#include <utility>

#include "base/hex.h"
#include "index/index_internal.h"

namespace hx {
namespace {

using index_internal::AsInt64;
using index_internal::AsUint64;
using index_internal::ReadId;

// HasObjects: below this many ids, or when the table has more than this
// many rows per queried id, look each id up instead of scanning.
constexpr std::size_t kMinIdsForScan = 64;
constexpr std::uint64_t kScanRowsPerLookup = 8;

// The location a FindObject-like statement's row gives for `id`: columns
// kind, pack/blob id, offset, length, raw length. `what` names the id column
// in a corruption message.
Result<std::optional<ObjectLocation>> ReadLocationRow(const Index::Impl& impl,
                                                      SqliteStatement& stmt, const ObjectId& id,
                                                      std::string_view what) {
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
    return impl.Corrupt("unknown object kind " + std::to_string(kind), ToHex(id));
  }
  location.kind = static_cast<ObjectKind>(kind);
  const std::span<const std::uint8_t> blob = stmt.ColumnBlob(1);
  if (blob.size() != 32) {
    return impl.Corrupt(std::string(what) + " is not 32 bytes", ToHex(id));
  }
  location.blob_id = ToHex(blob);
  location.offset = AsUint64(stmt.ColumnInt64(2));
  location.length = AsUint64(stmt.ColumnInt64(3));
  location.raw_length = AsUint64(stmt.ColumnInt64(4));
  return std::optional<ObjectLocation>(std::move(location));
}

}  // namespace

Result<std::optional<ObjectLocation>> Index::FindObject(const ObjectId& id) {
  return ReadLocationRow(*impl_, impl_->object_find, id, "blob id");
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

Result<std::optional<ObjectLocation>> Index::FindUnpublishedObject(const ObjectId& id) {
  return ReadLocationRow(*impl_, impl_->unpublished_object_find, id, "unpublished pack id");
}

Result<std::vector<UnpublishedPack>> Index::LoadUnpublishedPacks() {
  SqliteStatement& stmt = impl_->unpublished_pack_load;
  ScopedReset reset(stmt);
  std::vector<UnpublishedPack> packs;
  while (true) {
    HX_ASSIGN_OR_RETURN(const bool row, stmt.Step());
    if (!row) {
      break;
    }
    const std::span<const std::uint8_t> id = stmt.ColumnBlob(0);
    if (id.size() != 32) {
      return impl_->db->MakeCorruptError("an unpublished pack id is not 32 bytes");
    }
    packs.push_back({ToHex(id), AsUint64(stmt.ColumnInt64(1))});
  }
  return packs;
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

namespace {

// The 32 bytes of a pack id given as 64 lowercase hex (else KC_SYNC_INTERNAL).
Result<std::vector<std::uint8_t>> PackIdBytes(std::string_view blob_id) {
  std::optional<std::vector<std::uint8_t>> raw =
      IsLowerHex(blob_id, 64) ? FromHex(blob_id) : std::nullopt;
  if (!raw) {
    return InternalError("local index: pack id \"" + std::string(blob_id) +
                         "\" is not 64 lowercase hex");
  }
  return std::move(*raw);
}

}  // namespace

Status Index::Transaction::AddUnpublishedPack(const UnpublishedPack& pack,
                                              std::span<const ObjectLocation> locations) {
  for (const ObjectLocation& location : locations) {
    if (location.blob_id != pack.blob_id) {
      return InternalError("local index: an object of pack " + pack.blob_id +
                           " is located in " + location.blob_id);
    }
  }
  return PutUnpublishedPack(pack, locations);
}

Status Index::Transaction::AddUnpublishedPack(const UnpublishedPack& pack,
                                              std::span<const PackedObject> objects) {
  return PutUnpublishedPack(pack, objects);
}

template <typename Object>
Status Index::Transaction::PutUnpublishedPack(const UnpublishedPack& pack,
                                              std::span<const Object> objects) {
  HX_RETURN_IF_ERROR(CheckOpen());
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> raw, PackIdBytes(pack.blob_id));
  for (const Object& object : objects) {
    if (object.kind != ObjectKind::kChunk && object.kind != ObjectKind::kTree) {
      return InternalError("local index: unknown object kind " +
                           std::to_string(static_cast<int>(object.kind)));
    }
  }
  SqliteStatement& put = impl_->unpublished_pack_put;
  put.BindBlob(1, raw);
  put.BindInt64(2, AsInt64(pack.size));
  HX_RETURN_IF_ERROR(put.Run());
  for (const Object& location : objects) {
    SqliteStatement& stmt = impl_->unpublished_object_put;
    stmt.BindBlob(1, location.id);
    stmt.BindInt64(2, static_cast<std::int64_t>(location.kind));
    stmt.BindBlob(3, raw);
    stmt.BindInt64(4, AsInt64(location.offset));
    stmt.BindInt64(5, AsInt64(location.length));
    stmt.BindInt64(6, AsInt64(location.raw_length));
    HX_RETURN_IF_ERROR(stmt.Run());
  }
  return OkStatus();
}

Status Index::Transaction::ForgetUnpublishedPack(std::string_view blob_id) {
  HX_RETURN_IF_ERROR(CheckOpen());
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> raw, PackIdBytes(blob_id));
  impl_->unpublished_object_delete_pack.BindBlob(1, raw);
  HX_RETURN_IF_ERROR(impl_->unpublished_object_delete_pack.Run());
  impl_->unpublished_pack_delete.BindBlob(1, raw);
  return impl_->unpublished_pack_delete.Run();
}

Status Index::Transaction::ForgetObjectsInPack(std::string_view blob_id) {
  HX_RETURN_IF_ERROR(CheckOpen());
  HX_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> raw, PackIdBytes(blob_id));
  impl_->object_delete_pack.BindBlob(1, raw);
  return impl_->object_delete_pack.Run();
}

Status Index::Transaction::ClearUnpublished() {
  HX_RETURN_IF_ERROR(CheckOpen());
  return impl_->db->Exec("DELETE FROM unpublished_objects; DELETE FROM unpublished_packs");
}

Status Index::Transaction::MarkSnapshotImported(std::string_view snapshot_id, std::uint64_t seq) {
  HX_RETURN_IF_ERROR(CheckOpen());
  impl_->snapshot_put.BindText(1, snapshot_id);
  impl_->snapshot_put.BindInt64(2, AsInt64(seq));
  return impl_->snapshot_put.Run();
}

}  // namespace hx
