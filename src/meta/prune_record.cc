#include "meta/prune_record.h"

#include "base/hex.h"
#include "crypto/keys.h"
#include "json/json_fields.h"
#include "meta/records.h"

namespace hx {
namespace {

using json = nlohmann::json;
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kWhat = "prune record";

json Unsigned(const VaultContext& ctx, const PruneRecord& r) {
  json condemned = json::array();
  for (const auto& [pack, since] : r.condemned) {
    condemned.push_back({{"pack", pack}, {"since_ms", since}});
  }
  json deleted = json::array();
  for (const auto& [pack, epoch] : r.deleted) deleted.push_back({{"epoch", epoch}, {"pack", pack}});
  json out{{"author", r.author},
           {"condemned", std::move(condemned)},
           {"deleted", std::move(deleted)},
           {"epoch", r.epoch},
           {"format_version", r.FormatVersion()},
           {"updated_ms", r.updated_ms},
           {"vault_id", ctx.vault_id}};
  if (r.FormatVersion() >= 2) {
    json condemned_snapshots = json::array();
    for (const auto& [id, since] : r.condemned_snapshots) {
      condemned_snapshots.push_back({{"since_ms", since}, {"snapshot", id}});
    }
    json deleted_snapshots = json::array();
    for (const auto& [id, epoch] : r.deleted_snapshots) {
      deleted_snapshots.push_back({{"epoch", epoch}, {"snapshot", id}});
    }
    out["condemned_snapshots"] = std::move(condemned_snapshots);
    out["deleted_snapshots"] = std::move(deleted_snapshots);
  }
  return out;
}

// Problems that make a record unreadable, or "" if none.
std::string Check(const PruneRecord& r) {
  if (!IsLowerHex(r.author, kShortIdHexLength)) return "bad author";
  if (r.epoch < 1 || r.epoch > kMaxJsonInt) return "epoch must be at least 1";
  if (r.updated_ms < 0) return "bad updated_ms";
  for (const auto& [pack, since] : r.condemned) {
    if (!IsLowerHex(pack, kLongIdHexLength)) return "bad condemned pack id";
    if (since < 0) return "bad since_ms";
    if (r.deleted.count(pack) != 0) return "a pack both condemned and deleted";
  }
  for (const auto& [pack, epoch] : r.deleted) {
    if (!IsLowerHex(pack, kLongIdHexLength)) return "bad deleted pack id";
    if (epoch < 1 || epoch > r.epoch) return "a deleted pack's epoch is not in 1..epoch";
  }
  for (const auto& [id, since] : r.condemned_snapshots) {
    if (!IsLowerHex(id, kLongIdHexLength)) return "bad condemned snapshot id";
    if (since < 0) return "bad since_ms";
    if (r.deleted_snapshots.count(id) != 0) return "a snapshot both condemned and deleted";
  }
  for (const auto& [id, epoch] : r.deleted_snapshots) {
    if (!IsLowerHex(id, kLongIdHexLength)) return "bad deleted snapshot id";
    if (epoch < 1 || epoch > r.epoch) return "a deleted snapshot's epoch is not in 1..epoch";
  }
  return "";
}

}  // namespace

Result<Bytes> EncodePruneRecord(const VaultContext& ctx, const PruneRecord& record) {
  if (const std::string problem = Check(record); !problem.empty()) {
    return EncoderBug("EncodePruneRecord", problem);
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes,
                      WriteSignedRecordJson(kWhat, ctx.keys.mac, Unsigned(ctx, record)));
  if (bytes.size() > kMaxPruneRecordBytes) {
    return EncoderBug("EncodePruneRecord", "larger than kMaxPruneRecordBytes");
  }
  return ToByteVector(bytes);
}

namespace {

Result<PruneRecord> DecodeFields(const VaultContext& ctx, std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxPruneRecordBytes) return CorruptRecord(kWhat, "too large");
  HX_ASSIGN_OR_RETURN(const json value,
                      ParseRecordJson(kWhat, AsText(bytes), kMaxPruneRecordBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::string(kWhat)));
  // Format 1 or 2 (the snapshot lists): CheckFormatVersion knows only the
  // records' common version 1.
  HX_ASSIGN_OR_RETURN(const std::int64_t version, fields.Int("format_version"));
  if (version > 2) return NewerFormatError(fields.what(), version);
  if (version < 1) {
    return CorruptRecord(kWhat, "format_version " + std::to_string(version) + " is not valid");
  }
  HX_RETURN_IF_ERROR(RequireCanonical(kWhat, value, AsText(bytes)));
  PruneRecord r;
  HX_ASSIGN_OR_RETURN(r.author, HexField(fields, "author", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(r.epoch, CountField(fields, "epoch", 1));
  HX_ASSIGN_OR_RETURN(r.updated_ms, TimeField(fields, "updated_ms"));
  HX_ASSIGN_OR_RETURN(const std::string mac_hex, HexField(fields, "mac", kLongIdHexLength));
  HX_ASSIGN_OR_RETURN(const std::string vault_id,
                      HexField(fields, "vault_id", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(const json::array_t* condemned, fields.Array("condemned"));
  HX_ASSIGN_OR_RETURN(const json::array_t* deleted, fields.Array("deleted"));
  std::string last;
  for (const json& item : *condemned) {
    HX_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(item, "condemned pack"));
    HX_ASSIGN_OR_RETURN(const std::string pack, HexField(f, "pack", kLongIdHexLength));
    HX_ASSIGN_OR_RETURN(const std::int64_t since, TimeField(f, "since_ms"));
    HX_RETURN_IF_ERROR(f.RejectUnknownFields());
    if (!last.empty() && !(last < pack)) return CorruptRecord(kWhat, "condemned not sorted");
    last = pack;
    r.condemned.emplace(pack, since);
  }
  last.clear();
  for (const json& item : *deleted) {
    HX_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(item, "deleted pack"));
    HX_ASSIGN_OR_RETURN(const std::uint64_t epoch, CountField(f, "epoch", 1));
    HX_ASSIGN_OR_RETURN(const std::string pack, HexField(f, "pack", kLongIdHexLength));
    HX_RETURN_IF_ERROR(f.RejectUnknownFields());
    if (!last.empty() && !(last < pack)) return CorruptRecord(kWhat, "deleted not sorted");
    last = pack;
    r.deleted.emplace(pack, epoch);
  }
  if (version == 2) {
    HX_ASSIGN_OR_RETURN(const json::array_t* condemned_snapshots,
                        fields.Array("condemned_snapshots"));
    HX_ASSIGN_OR_RETURN(const json::array_t* deleted_snapshots, fields.Array("deleted_snapshots"));
    last.clear();
    for (const json& item : *condemned_snapshots) {
      HX_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(item, "condemned snapshot"));
      HX_ASSIGN_OR_RETURN(const std::int64_t since, TimeField(f, "since_ms"));
      HX_ASSIGN_OR_RETURN(const std::string id, HexField(f, "snapshot", kLongIdHexLength));
      HX_RETURN_IF_ERROR(f.RejectUnknownFields());
      if (!last.empty() && !(last < id)) {
        return CorruptRecord(kWhat, "condemned_snapshots not sorted");
      }
      last = id;
      r.condemned_snapshots.emplace(id, since);
    }
    last.clear();
    for (const json& item : *deleted_snapshots) {
      HX_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(item, "deleted snapshot"));
      HX_ASSIGN_OR_RETURN(const std::uint64_t epoch, CountField(f, "epoch", 1));
      HX_ASSIGN_OR_RETURN(const std::string id, HexField(f, "snapshot", kLongIdHexLength));
      HX_RETURN_IF_ERROR(f.RejectUnknownFields());
      if (!last.empty() && !(last < id)) return CorruptRecord(kWhat, "deleted_snapshots not sorted");
      last = id;
      r.deleted_snapshots.emplace(id, epoch);
    }
    if (r.FormatVersion() != 2) {
      return CorruptRecord(kWhat, "format_version 2 with no snapshot listed");
    }
  }
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (const std::string problem = Check(r); !problem.empty()) return CorruptRecord(kWhat, problem);
  if (vault_id != ctx.vault_id) {
    return CorruptRecord(kWhat, "belongs to vault " + vault_id + ", not to this vault");
  }
  HX_ASSIGN_OR_RETURN(const bool verifies,
                      RecordMacVerifies(kWhat, ctx.keys.mac, Unsigned(ctx, r), mac_hex));
  if (!verifies) {
    return CorruptRecord(kWhat, "MAC does not verify: tampered with or not written with this "
                                "vault's key");
  }
  return r;
}

}  // namespace

Result<PruneRecord> DecodePruneRecord(const VaultContext& ctx,
                                      std::span<const std::uint8_t> bytes) {
  return AsStoreRecord(DecodeFields(ctx, bytes));
}

Result<StoredPruneRecord> ReadPruneRecord(Store& store, const VaultContext& ctx) {
  Result<std::pair<Bytes, StoreVersion>> got =
      store.GetVersioned(kPruneRecordKey, kMaxPruneRecordBytes);
  if (!got.ok()) {
    if (got.error().category == Category::kNotFound) return StoredPruneRecord{};
    return std::move(got).error().With("key", std::string(kPruneRecordKey));
  }
  Result<PruneRecord> record = DecodePruneRecord(ctx, got->first);
  if (!record.ok()) return std::move(record).error().With("key", std::string(kPruneRecordKey));
  return StoredPruneRecord{std::move(*record), std::move(got->second)};
}

Result<bool> PrunedSnapshots::WasDeleted(const std::string& snapshot_id) {
  if (!deleted_) {
    HX_ASSIGN_OR_RETURN(const StoredPruneRecord stored, ReadPruneRecord(*store_, *ctx_));
    deleted_ = stored.record ? stored.record->deleted_snapshots
                             : std::map<std::string, std::uint64_t>{};
  }
  return deleted_->count(snapshot_id) != 0;
}

Result<bool> PrunedSnapshots::ExplainsMissing(const Error& error, const std::string& snapshot_id) {
  if (error.category != Category::kNotFound) return false;
  return WasDeleted(snapshot_id);
}

Result<StoreVersion> WritePruneRecord(Store& store, const VaultContext& ctx,
                                      const StoredPruneRecord& previous, const PruneRecord& next) {
  if (previous.record && next.epoch <= previous.record->epoch) {
    return EncoderBug("WritePruneRecord", "the epoch must grow");
  }
  HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodePruneRecord(ctx, next));
  if (!previous.version) return store.PutIfAbsent(kPruneRecordKey, bytes);
  return store.PutIfMatch(kPruneRecordKey, bytes, *previous.version);
}

}  // namespace hx
