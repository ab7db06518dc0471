#include "meta/snapshot.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "json/json_fields.h"
#include "meta/records.h"
#include "meta/stored_zip.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kHeaderEntry = "header.json";
constexpr std::string_view kBodyEntry = "body.bin";
constexpr std::string_view kSnapshotKind = "hx-snapshot";
constexpr std::string_view kBodyAdLabel = "hx snapshot v1";
constexpr std::size_t kMaxHeaderBytes = 4096;
constexpr ObjectKind kObjectKinds[] = {ObjectKind::kChunk, ObjectKind::kTree};

std::vector<std::uint8_t> BodyAd(std::string_view vault_id, std::string_view snapshot_id) {
  return EncodeAssociatedData({kBodyAdLabel, vault_id, snapshot_id});
}

std::optional<ObjectId> ParseObjectId(std::string_view hex) {
  if (!IsLowerHex(hex, kLongIdHexLength)) return std::nullopt;
  const auto bytes = FromHex(hex);
  ObjectId id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

// The added objects grouped by blob id (sorted), each blob's objects sorted
// by offset, into `groups`; or the rule they break. Shared by the encoder (a
// bug if broken) and the decoder (which checks its input is already in this
// order).
using BlobGroups = std::map<std::string, std::vector<const ObjectLocation*>>;
std::optional<std::string> GroupByBlob(const std::vector<ObjectLocation>& added,
                                       BlobGroups& groups) {
  std::set<ObjectId> ids;
  for (const ObjectLocation& location : added) {
    if (!IsLowerHex(location.blob_id, kLongIdHexLength)) {
      return "a blob id is not 64 lowercase hex digits";
    }
    if (location.length == 0 || location.length > kMaxJsonInt ||
        location.offset > kMaxJsonInt - location.length || location.raw_length > kMaxJsonInt) {
      return "an object range is empty or beyond 2^63-1";
    }
    if (location.kind != ObjectKind::kChunk && location.kind != ObjectKind::kTree) {
      return "an object has an unknown kind";
    }
    if (!ids.insert(location.id).second) {
      return "object " + ToHex(location.id) + " is listed twice";
    }
    groups[location.blob_id].push_back(&location);
  }
  for (auto& [blob_id, objects] : groups) {
    std::sort(objects.begin(), objects.end(),
              [](const ObjectLocation* a, const ObjectLocation* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < objects.size(); ++i) {
      if (objects[i - 1]->offset + objects[i - 1]->length > objects[i]->offset) {
        return "objects overlap in blob " + blob_id;
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> SnapshotProblem(const VaultContext& ctx, const Snapshot& snapshot) {
  if (snapshot.vault_id != ctx.vault_id) return "vault_id is not the context's";
  if (snapshot.created_ms < 0) return "created_ms is negative";
  if (snapshot.snapshot_id != SnapshotId(snapshot.root, snapshot.created_ms)) {
    return "snapshot_id is not SnapshotId(root, created_ms)";
  }
  if (!IsLowerHex(snapshot.author, kShortIdHexLength)) return "author is not 32 lowercase hex";
  if (snapshot.key_fingerprint != ctx.key_fingerprint) {
    return "key_fingerprint is not the context's";
  }
  if (snapshot.seq == 0 || snapshot.seq > kMaxJsonInt) return "seq is not in [1, 2^63-1]";
  if (snapshot.parents.size() > kMaxSnapshotParents) return "too many parents";
  for (const std::string& parent : snapshot.parents) {
    if (!IsLowerHex(parent, kLongIdHexLength)) return "a parent is not 64 lowercase hex";
  }
  const SnapshotSummary& s = snapshot.summary;
  for (std::uint64_t count : {s.added, s.modified, s.deleted, s.files, s.bytes}) {
    if (count > kMaxJsonInt) return "a summary count is above 2^63-1";
  }
  return std::nullopt;
}

// The body without its "blobs" (an empty array in their place): the small
// part, written by the canonical JSON writer.
json BodyJsonWithoutBlobs(const Snapshot& snapshot) {
  const SnapshotSummary& s = snapshot.summary;
  return json{{"author", snapshot.author},
              {"blobs", json::array()},
              {"created_ms", snapshot.created_ms},
              {"key_fingerprint", snapshot.key_fingerprint},
              {"parents", snapshot.parents},
              {"root", ToHex(snapshot.root)},
              {"seq", static_cast<std::int64_t>(snapshot.seq)},
              {"summary", json{{"added", static_cast<std::int64_t>(s.added)},
                               {"bytes", static_cast<std::int64_t>(s.bytes)},
                               {"deleted", static_cast<std::int64_t>(s.deleted)},
                               {"files", static_cast<std::int64_t>(s.files)},
                               {"modified", static_cast<std::int64_t>(s.modified)}}}};
}

// The "blobs" array written straight into canonical JSON: at 100,000
// objects a JSON document tree of it cost more memory than the rest of a
// push. Everything in it is ASCII that needs no escaping (lowercase hex,
// kind names) or a non-negative integer below 2^63, and keys are written in
// canonical (sorted) order, so the bytes are what WriteCanonicalJson would
// produce (a test checks it).
void AppendBlobsJson(const BlobGroups& groups, std::string& out) {
  out += '[';
  bool first_blob = true;
  for (const auto& [blob_id, objects] : groups) {
    if (!first_blob) out += ',';
    first_blob = false;
    out += "{\"id\":\"";
    out += blob_id;
    out += "\",\"objects\":[";
    bool first = true;
    for (const ObjectLocation* location : objects) {
      if (!first) out += ',';
      first = false;
      out += "[\"";
      out += ToHex(location->id);
      out += "\",\"";
      out += ToString(location->kind);
      out += "\",";
      out += std::to_string(location->offset);
      out += ',';
      out += std::to_string(location->length);
      out += ',';
      out += std::to_string(location->raw_length);
      out += ']';
    }
    out += "]}";
  }
  out += ']';
}

// Canonical JSON of the whole body: the small part from the writer, the
// blobs spliced in where its empty array stands.
Result<std::string> WriteBodyJson(const Snapshot& snapshot, const BlobGroups& groups) {
  HX_ASSIGN_OR_RETURN(const std::string small,
                      WriteRecordJson("snapshot body", BodyJsonWithoutBlobs(snapshot)));
  static constexpr std::string_view kPlaceholder = "\"blobs\":[]";
  const std::size_t at = small.find(kPlaceholder);
  if (at == std::string::npos) {
    return EncoderBug("EncodeSnapshotZip", "the body has no blobs placeholder");
  }
  std::size_t objects = 0;
  for (const auto& [blob_id, list] : groups) objects += list.size();
  std::string out;
  out.reserve(small.size() + groups.size() * 96 + objects * 112);
  out.append(small, 0, at + kPlaceholder.size() - 2);  // up to and with "blobs":
  AppendBlobsJson(groups, out);
  out.append(small, at + kPlaceholder.size());
  return out;
}

json HeaderJson(std::string_view vault_id, std::string_view snapshot_id) {
  return json{{"format_version", kFormatVersion},
              {"kind", kSnapshotKind},
              {"snapshot_id", snapshot_id},
              {"vault_id", vault_id}};
}

Status DecodeHeader(const VaultContext& ctx, std::string_view bytes, std::string_view expected_id,
                    const std::string& what) {
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(what, bytes, kMaxHeaderBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, bytes));
  HX_ASSIGN_OR_RETURN(const std::string kind, fields.String("kind"));
  HX_ASSIGN_OR_RETURN(const std::string snapshot_id,
                      HexField(fields, "snapshot_id", kLongIdHexLength));
  HX_ASSIGN_OR_RETURN(const std::string vault_id, HexField(fields, "vault_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (kind != kSnapshotKind) return CorruptRecord(what, "kind is not \"hx-snapshot\"");
  if (snapshot_id != expected_id) {
    return CorruptRecord(what, "names snapshot " + snapshot_id + ", not the file's own id");
  }
  if (vault_id != ctx.vault_id) {
    return CorruptRecord(what, "belongs to vault " + vault_id + ", not to this vault " +
                                   ctx.vault_id)
        .With("vault_id", vault_id);
  }
  return OkStatus();
}

// One [id, kind, offset, length, raw_length] tuple of blob `blob_id`.
Result<ObjectLocation> DecodeObject(const json& item, const std::string& blob_id,
                                    const std::string& what) {
  const auto* tuple = item.get_ptr<const json::array_t*>();
  if (tuple == nullptr || tuple->size() != 5) {
    return CorruptRecord(what, "an object is not a [id, kind, offset, length, raw_length] array");
  }
  const auto* id_hex = (*tuple)[0].get_ptr<const std::string*>();
  const auto* kind_name = (*tuple)[1].get_ptr<const std::string*>();
  std::optional<ObjectId> id;
  if (id_hex != nullptr) id = ParseObjectId(*id_hex);
  if (!id) return CorruptRecord(what, "an object id is not 64 lowercase hex digits");
  ObjectLocation location{.id = *id, .blob_id = blob_id};
  bool known_kind = false;
  for (ObjectKind kind : kObjectKinds) {
    if (kind_name != nullptr && *kind_name == ToString(kind)) {
      location.kind = kind;
      known_kind = true;
    }
  }
  if (!known_kind) return CorruptRecord(what, "an object kind is not \"chunk\" or \"tree\"");
  std::uint64_t* numbers[] = {&location.offset, &location.length, &location.raw_length};
  for (int i = 0; i < 3; ++i) {
    const auto* number = (*tuple)[2 + i].get_ptr<const std::int64_t*>();
    if (number == nullptr || *number < 0) {
      return CorruptRecord(what, "an object offset, length or raw_length is not a "
                                 "non-negative integer");
    }
    *numbers[i] = static_cast<std::uint64_t>(*number);
  }
  return location;
}

Result<std::vector<ObjectLocation>> DecodeBlobs(JsonFields& body, const std::string& what) {
  HX_ASSIGN_OR_RETURN(const json::array_t* blobs, body.Array("blobs"));
  // Sized once: 100,000 locations are ~10 MB, the pull's peak (a grown
  // vector holds up to twice that, and both while it moves).
  std::size_t count = 0;
  for (const json& blob : *blobs) {
    const auto objects = blob.find("objects");
    if (objects != blob.end() && objects->is_array()) count += objects->size();
  }
  std::vector<ObjectLocation> added;
  added.reserve(count);
  for (std::size_t b = 0; b < blobs->size(); ++b) {
    HX_ASSIGN_OR_RETURN(JsonFields blob,
                        JsonFields::Of((*blobs)[b], what + ".blobs[" + std::to_string(b) + "]"));
    HX_ASSIGN_OR_RETURN(const std::string blob_id, HexField(blob, "id", kLongIdHexLength));
    HX_ASSIGN_OR_RETURN(const json::array_t* objects, blob.Array("objects"));
    HX_RETURN_IF_ERROR(blob.RejectUnknownFields());
    if (objects->empty()) return CorruptRecord(what, "blob " + blob_id + " lists no objects");
    for (const json& item : *objects) {
      HX_ASSIGN_OR_RETURN(ObjectLocation location, DecodeObject(item, blob_id, what));
      added.push_back(std::move(location));
    }
  }
  // The order and the other rules are those the encoder writes: regroup and
  // compare, rather than restate every rule here.
  BlobGroups groups;
  if (const auto problem = GroupByBlob(added, groups)) return CorruptRecord(what, *problem);
  std::size_t i = 0;
  for (const auto& [blob_id, objects] : groups) {
    for (const ObjectLocation* location : objects) {
      if (!(*location == added[i++])) {
        return CorruptRecord(what, "blobs are not sorted by id, or objects by offset");
      }
    }
  }
  return added;
}

// Takes the body's plaintext and frees it once parsed and found canonical:
// at 100,000 objects it is ~10 MB, held at the pull's peak otherwise.
Result<Snapshot> DecodeBody(std::vector<std::uint8_t> plaintext, const std::string& what) {
  HX_ASSIGN_OR_RETURN(const json value,
                      ParseRecordJson(what, AsText(plaintext), kMaxSnapshotZipBytes));
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, AsText(plaintext)));
  plaintext = std::vector<std::uint8_t>();
  HX_ASSIGN_OR_RETURN(JsonFields body, JsonFields::Of(value, what));
  Snapshot snapshot;
  HX_ASSIGN_OR_RETURN(snapshot.author, HexField(body, "author", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(snapshot.added, DecodeBlobs(body, what));
  HX_ASSIGN_OR_RETURN(snapshot.created_ms, TimeField(body, "created_ms"));
  HX_ASSIGN_OR_RETURN(snapshot.key_fingerprint,
                      HexField(body, "key_fingerprint", kLongIdHexLength));
  HX_ASSIGN_OR_RETURN(snapshot.parents,
                      HexArrayField(body, "parents", kLongIdHexLength, kMaxSnapshotParents));
  HX_ASSIGN_OR_RETURN(const std::string root, HexField(body, "root", kLongIdHexLength));
  snapshot.root = *ParseObjectId(root);
  HX_ASSIGN_OR_RETURN(snapshot.seq, CountField(body, "seq", 1));
  HX_ASSIGN_OR_RETURN(JsonFields summary, body.Object("summary"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.added, CountField(summary, "added"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.bytes, CountField(summary, "bytes"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.deleted, CountField(summary, "deleted"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.files, CountField(summary, "files"));
  HX_ASSIGN_OR_RETURN(snapshot.summary.modified, CountField(summary, "modified"));
  HX_RETURN_IF_ERROR(summary.RejectUnknownFields());
  HX_RETURN_IF_ERROR(body.RejectUnknownFields());
  return snapshot;
}

// `owner`: the buffer `zip` views, when the caller gives it up; it is freed
// once the body is opened (nothing reads the zip after that): at 100,000
// objects, ~10 MB less at a pull's peak, which is this decoding.
Result<Snapshot> DecodeZip(const VaultContext& ctx, std::span<const std::uint8_t> zip,
                           std::string_view expected_id, Bytes* owner = nullptr) {
  const std::string what = SnapshotKey(expected_id);
  if (zip.size() > kMaxSnapshotZipBytes) {
    return CorruptRecord(what, "larger than the limit of " +
                                   std::to_string(kMaxSnapshotZipBytes) + " bytes");
  }
  // The header first, on its own: its format_version decides whether the
  // rest is ours to read.
  HX_ASSIGN_OR_RETURN(const auto header, ReadFirstStoredZipEntry(zip, kHeaderEntry, what));
  HX_RETURN_IF_ERROR(DecodeHeader(ctx, AsText(header), expected_id, what + " header.json"));
  const std::string_view names[] = {kHeaderEntry, kBodyEntry};
  HX_ASSIGN_OR_RETURN(const std::vector<StoredZipEntry> entries, ReadStoredZip(zip, names, what));

  Result<std::vector<std::uint8_t>> plaintext =
      AeadOpen(ctx.keys.content, BodyAd(ctx.vault_id, expected_id), entries[1].data);
  if (owner != nullptr) Bytes().swap(*owner);  // `zip` and `entries` dangle from here
  if (!plaintext.ok()) {
    return CorruptRecord(what, "body does not authenticate: tampered, or the body of another "
                               "snapshot or vault");
  }
  HX_ASSIGN_OR_RETURN(Snapshot snapshot, DecodeBody(std::move(*plaintext), what + " body"));
  snapshot.snapshot_id = std::string(expected_id);
  snapshot.vault_id = ctx.vault_id;
  // The AD already binds the body to this id; recomputing it also catches a
  // body sealed under a mismatched id by a buggy or hostile writer with the key.
  if (SnapshotId(snapshot.root, snapshot.created_ms) != expected_id) {
    return CorruptRecord(what, "root and created_ms do not give the snapshot's id");
  }
  if (snapshot.key_fingerprint != ctx.key_fingerprint) {
    return CorruptRecord(what, "names key fingerprint " + snapshot.key_fingerprint +
                                   ", not this vault's key");
  }
  return snapshot;
}

}  // namespace

std::string SnapshotId(const ObjectId& root, std::int64_t created_ms) {
  return Blake3Hex("kc.sync.snapshot.v2\n" + ToHex(root) + "\n" + std::to_string(created_ms));
}

std::string SnapshotKey(std::string_view snapshot_id) {
  return "snapshots/" + std::string(snapshot_id) + ".zip";
}

Result<Bytes> EncodeSnapshotZip(const VaultContext& ctx, const Snapshot& snapshot) {
  if (const auto problem = SnapshotProblem(ctx, snapshot)) {
    return EncoderBug("EncodeSnapshotZip", *problem);
  }
  BlobGroups groups;
  if (const auto problem = GroupByBlob(snapshot.added, groups)) {
    return EncoderBug("EncodeSnapshotZip", *problem);
  }
  HX_ASSIGN_OR_RETURN(const std::string header,
                      WriteRecordJson("snapshot header", HeaderJson(ctx.vault_id,
                                                                    snapshot.snapshot_id)));
  std::vector<std::uint8_t> sealed;
  {
    // The body's JSON is freed once sealed, before the zip copies the seal
    // (a push of 100,000 new objects: ~11 MB less at its peak).
    HX_ASSIGN_OR_RETURN(const std::string body, WriteBodyJson(snapshot, groups));
    sealed = AeadSealSynthetic(ctx.keys.content, ctx.keys.nonce,
                               BodyAd(ctx.vault_id, snapshot.snapshot_id), AsBytes(body));
  }
  const StoredZipEntry entries[] = {{kHeaderEntry, AsBytes(header)}, {kBodyEntry, sealed}};
  HX_ASSIGN_OR_RETURN(Bytes zip, WriteStoredZip(entries));
  if (zip.size() > kMaxSnapshotZipBytes) {
    return EncoderBug("EncodeSnapshotZip", "the snapshot is larger than kMaxSnapshotZipBytes");
  }
  return zip;
}

Result<Snapshot> DecodeSnapshotZip(const VaultContext& ctx, std::span<const std::uint8_t> zip,
                                   std::string_view expected_snapshot_id) {
  if (!IsLowerHex(expected_snapshot_id, kLongIdHexLength)) {
    return EncoderBug("DecodeSnapshotZip", "the expected snapshot id is not 64 lowercase hex");
  }
  return AsStoreRecord(DecodeZip(ctx, zip, expected_snapshot_id));
}

Status WriteSnapshot(Store& store, const VaultContext& ctx, const Snapshot& snapshot) {
  HX_ASSIGN_OR_RETURN(const Bytes zip, EncodeSnapshotZip(ctx, snapshot));
  const std::string key = SnapshotKey(snapshot.snapshot_id);
  Result<StoreVersion> created = store.PutIfAbsent(key, zip);
  if (created.ok()) return OkStatus();
  if (created.error().category != Category::kAborted) return std::move(created).error();
  // Already there: fine if it is this very snapshot (a push retried after
  // the upload succeeded but the answer was lost).
  HX_ASSIGN_OR_RETURN(const Bytes existing, store.Get(key, kMaxSnapshotZipBytes));
  if (existing == zip) return OkStatus();
  return Error(SyncCode::kStateFailed, Category::kAborted,
               key + " already exists with other content")
      .With("key", key);
}

Result<Snapshot> ReadSnapshot(Store& store, const VaultContext& ctx,
                              std::string_view snapshot_id) {
  if (!IsLowerHex(snapshot_id, kLongIdHexLength)) {
    return EncoderBug("ReadSnapshot", "the snapshot id is not 64 lowercase hex");
  }
  const std::string key = SnapshotKey(snapshot_id);
  HX_ASSIGN_OR_RETURN(Bytes zip, store.Get(key, kMaxSnapshotZipBytes));
  Result<Snapshot> snapshot = AsStoreRecord(DecodeZip(ctx, zip, snapshot_id, &zip));
  if (!snapshot.ok()) return std::move(snapshot).error().With("key", key);
  return snapshot;
}

}  // namespace hx
