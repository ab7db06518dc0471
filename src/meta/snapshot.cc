#include "meta/snapshot.h"

#include <optional>

#include "base/hex.h"
#include "crypto/aead.h"
#include "hash/blake3.h"
#include "json/json_fields.h"
#include "meta/records.h"
#include "meta/snapshot_body.h"
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

std::vector<std::uint8_t> BodyAd(std::string_view vault_id, std::string_view snapshot_id) {
  return EncodeAssociatedData({kBodyAdLabel, vault_id, snapshot_id});
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
  // The plaintext is held while it is read (~10 MB at 100,000 objects,
  // with the locations decoded from it: the pull's peak), then freed.
  HX_ASSIGN_OR_RETURN(Snapshot snapshot, DecodeSnapshotBody(AsText(*plaintext), what + " body"));
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
  HX_ASSIGN_OR_RETURN(const std::string header,
                      WriteRecordJson("snapshot header", HeaderJson(ctx.vault_id,
                                                                    snapshot.snapshot_id)));
  std::vector<std::uint8_t> sealed;
  {
    // The body's JSON is freed once sealed, before the zip copies the seal
    // (a push of 100,000 new objects: ~11 MB less at its peak).
    HX_ASSIGN_OR_RETURN(const std::string body, EncodeSnapshotBody(snapshot));
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
