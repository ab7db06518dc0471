#include "meta/head.h"

#include <optional>

#include "base/hex.h"
#include "crypto/keys.h"
#include "json/json_fields.h"
#include "meta/records.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kWhat = "head.json";

std::optional<std::string> HeadProblem(const Head& head) {
  if (!IsLowerHex(head.vault_id, kShortIdHexLength)) return "vault_id must be 32 lowercase hex digits";
  if (!IsLowerHex(head.snapshot_id, kLongIdHexLength)) {
    return "snapshot_id must be 64 lowercase hex digits";
  }
  if (head.seq == 0 || head.seq > kMaxJsonInt) return "seq must be in [1, 2^63-1]";
  return std::nullopt;
}

// The object that is MAC'd: the head without "mac".
json Unsigned(const Head& head) {
  return json{{"format_version", kFormatVersion},
              {"seq", static_cast<std::int64_t>(head.seq)},
              {"snapshot_id", head.snapshot_id},
              {"vault_id", head.vault_id}};
}

Result<Head> DecodeHeadFields(const VaultContext& ctx, std::string_view bytes) {
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(kWhat, bytes, kMaxHeadBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, std::string(kWhat)));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(kWhat, value, bytes));
  Head head;
  HX_ASSIGN_OR_RETURN(head.vault_id, HexField(fields, "vault_id", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(head.seq, CountField(fields, "seq", 1));
  HX_ASSIGN_OR_RETURN(head.snapshot_id, HexField(fields, "snapshot_id", kLongIdHexLength));
  HX_ASSIGN_OR_RETURN(const std::string mac_hex, HexField(fields, "mac", kLongIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());

  // The vault id is checked before the MAC so that a head copied from
  // another vault is reported as that, not as tampering: its MAC was made
  // with the other vault's key and could never verify here.
  if (head.vault_id != ctx.vault_id) {
    return CorruptRecord(kWhat, "belongs to vault " + head.vault_id + ", not to this vault " +
                                    ctx.vault_id)
        .With("vault_id", head.vault_id);
  }
  HX_ASSIGN_OR_RETURN(const bool verifies,
                      RecordMacVerifies(kWhat, ctx.keys.mac, Unsigned(head), mac_hex));
  if (!verifies) {
    return CorruptRecord(kWhat, "MAC does not verify: the head was tampered with or not "
                                "written with this vault's key");
  }
  return head;
}

}  // namespace

Result<Bytes> EncodeHead(const VaultContext& ctx, const Head& head) {
  if (const auto problem = HeadProblem(head)) return EncoderBug("EncodeHead", *problem);
  if (head.vault_id != ctx.vault_id) {
    return EncoderBug("EncodeHead", "the head's vault_id is not the context's");
  }
  HX_ASSIGN_OR_RETURN(const std::string bytes,
                      WriteSignedRecordJson(kWhat, ctx.keys.mac, Unsigned(head)));
  return ToByteVector(bytes);
}

Result<Head> DecodeHead(const VaultContext& ctx, std::string_view bytes) {
  return AsStoreRecord(DecodeHeadFields(ctx, bytes));
}

Result<HeadState> ReadHead(Store& store, const VaultContext& ctx) {
  auto read = store.GetVersioned(kHeadKey, kMaxHeadBytes);
  if (!read.ok()) {
    if (read.error().category == Category::kNotFound) return HeadState{};
    return std::move(read).error();
  }
  auto& [bytes, version] = *read;
  Result<Head> head = DecodeHead(ctx, AsText(bytes));
  if (!head.ok()) return std::move(head).error().With("key", std::string(kHeadKey));
  return HeadState{.head = std::move(*head), .version = std::move(version)};
}

Result<StoreVersion> PublishHead(Store& store, const VaultContext& ctx,
                                 const HeadState& previous, const Head& next) {
  const std::uint64_t expected_seq = previous.head ? previous.head->seq + 1 : 1;
  if (next.seq != expected_seq) {
    return EncoderBug("PublishHead", "seq " + std::to_string(next.seq) + " does not follow seq " +
                                         std::to_string(expected_seq - 1));
  }
  if (previous.head.has_value() != previous.version.has_value()) {
    return EncoderBug("PublishHead", "the previous head state has a head without a version or "
                                     "a version without a head");
  }
  HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodeHead(ctx, next));
  if (!previous.version) return store.PutIfAbsent(kHeadKey, bytes);
  return store.PutIfMatch(kHeadKey, bytes, *previous.version);
}

Result<StoreVersion> RestoreHead(Store& store, const VaultContext& ctx, const Head& head) {
  HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodeHead(ctx, head));
  return store.PutIfAbsent(kHeadKey, bytes);
}

Status CheckHeadNotReplayed(const Head& head, std::uint64_t highest_seen_seq) {
  if (head.seq >= highest_seen_seq) return OkStatus();
  return CorruptRecord(kWhat, "seq " + std::to_string(head.seq) + " is older than seq " +
                                  std::to_string(highest_seen_seq) +
                                  " that this device already saw: the store served an old "
                                  "head (replayed, or restored from a backup). If the store "
                                  "was restored, run 'hx sync repair' to accept its head: the "
                                  "next pull merges it and nothing on this device is lost")
      .With("seq", std::to_string(head.seq))
      .With("highest_seen_seq", std::to_string(highest_seen_seq));
}

}  // namespace hx
