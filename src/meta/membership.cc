#include "meta/membership.h"

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "crypto/aead.h"
#include "json/json_fields.h"
#include "meta/records.h"

namespace hx {
namespace {

using json = nlohmann::json;
// The record helpers every store record is written and read with.
using namespace meta_internal;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kAdLabel = "hx membership v1";
constexpr std::string_view kWhat = "membership.hxmem";
// How often SetDeviceRole re-reads after losing a compare-and-swap.
constexpr int kMaxAttempts = 4;

std::vector<std::uint8_t> MembershipAd(std::string_view vault_id) {
  return EncodeAssociatedData({kAdLabel, vault_id});
}

std::optional<std::string> MembershipProblem(const Membership& m) {
  if (!IsLowerHex(m.vault_id, kShortIdHexLength)) return "vault_id is not 32 lowercase hex";
  if (m.seq == 0 || m.seq > kMaxJsonInt) return "seq is not in [1, 2^63-1]";
  if (m.members.size() > kMaxMembers) return "too many members";
  for (std::size_t i = 0; i < m.members.size(); ++i) {
    const Member& member = m.members[i];
    if (!IsLowerHex(member.node_id, kShortIdHexLength) ||
        !IsLowerHex(member.set_by, kShortIdHexLength)) {
      return "a member's node_id or set_by is not 32 lowercase hex";
    }
    if (member.set_ms < 0) return "a member's set_ms is negative";
    if (i > 0 && !(m.members[i - 1].node_id < member.node_id)) {
      return "members are not sorted by node_id and unique";
    }
  }
  return std::nullopt;
}

Result<Member> DecodeMember(const json& item, const std::string& what) {
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(item, what + ".members[]"));
  Member member;
  HX_ASSIGN_OR_RETURN(member.node_id, HexField(fields, "node_id", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(const std::string role, fields.String("role"));
  if (role == "reader") {
    member.role = DeviceRole::kReader;
  } else if (role == "writer") {
    member.role = DeviceRole::kWriter;
  } else {
    return CorruptRecord(what, "a member's role is neither \"reader\" nor \"writer\"");
  }
  HX_ASSIGN_OR_RETURN(member.set_by, HexField(fields, "set_by", kShortIdHexLength));
  HX_ASSIGN_OR_RETURN(member.set_ms, TimeField(fields, "set_ms"));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  return member;
}

Result<Membership> DecodeFields(const VaultContext& ctx, std::span<const std::uint8_t> bytes) {
  const std::string what(kWhat);
  if (bytes.size() > kMaxMembershipBytes) {
    return CorruptRecord(what, "larger than the limit of " +
                                   std::to_string(kMaxMembershipBytes) + " bytes");
  }
  Result<std::vector<std::uint8_t>> plaintext =
      AeadOpen(ctx.keys.content, MembershipAd(ctx.vault_id), bytes);
  if (!plaintext.ok()) {
    return CorruptRecord(what, "does not authenticate as this vault's membership record: "
                               "tampered, or from another vault");
  }
  const std::string_view text = AsText(*plaintext);
  HX_ASSIGN_OR_RETURN(const json value, ParseRecordJson(what, text, kMaxMembershipBytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, what));
  HX_RETURN_IF_ERROR(CheckFormatVersion(fields));
  HX_RETURN_IF_ERROR(RequireCanonical(what, value, text));
  Membership membership;
  HX_ASSIGN_OR_RETURN(const json::array_t* members, fields.Array("members"));
  if (members->size() > kMaxMembers) return CorruptRecord(what, "too many members");
  for (const json& item : *members) {
    HX_ASSIGN_OR_RETURN(Member member, DecodeMember(item, what));
    membership.members.push_back(std::move(member));
  }
  HX_ASSIGN_OR_RETURN(membership.seq, CountField(fields, "seq", 1));
  HX_ASSIGN_OR_RETURN(membership.vault_id, HexField(fields, "vault_id", kShortIdHexLength));
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  if (membership.vault_id != ctx.vault_id) return CorruptRecord(what, "names another vault");
  if (const auto problem = MembershipProblem(membership)) return CorruptRecord(what, *problem);
  return membership;
}

Error InvalidId(std::string_view which) {
  return InvalidInput(SyncCode::kInputInvalid,
                      std::string(which) +
                          " is not a node id (32 lowercase hex digits); `hx sync member list` "
                          "shows the vault's devices");
}

}  // namespace

std::string_view ToString(DeviceRole role) {
  return role == DeviceRole::kReader ? "reader" : "writer";
}

Result<DeviceRole> ParseDeviceRole(std::string_view text) {
  if (text == "reader") return DeviceRole::kReader;
  if (text == "writer") return DeviceRole::kWriter;
  return InvalidInput(SyncCode::kInputInvalid,
                      "unknown role; a device is either \"reader\" or \"writer\"");
}

const Member* Membership::Find(std::string_view node_id) const {
  const auto it = std::lower_bound(
      members.begin(), members.end(), node_id,
      [](const Member& member, std::string_view id) { return member.node_id < id; });
  if (it == members.end() || it->node_id != node_id) return nullptr;
  return &*it;
}

DeviceRole Membership::RoleOf(std::string_view node_id) const {
  const Member* member = Find(node_id);
  return member == nullptr ? DeviceRole::kWriter : member->role;
}

Result<Bytes> EncodeMembership(const VaultContext& ctx, const Membership& membership) {
  if (const auto problem = MembershipProblem(membership)) {
    return EncoderBug("EncodeMembership", *problem);
  }
  if (membership.vault_id != ctx.vault_id) {
    return EncoderBug("EncodeMembership", "the record's vault_id is not the context's");
  }
  json members = json::array();
  for (const Member& member : membership.members) {
    members.push_back(json{{"node_id", member.node_id},
                           {"role", std::string(ToString(member.role))},
                           {"set_by", member.set_by},
                           {"set_ms", member.set_ms}});
  }
  const json value{{"format_version", kFormatVersion},
                   {"members", std::move(members)},
                   {"seq", static_cast<std::int64_t>(membership.seq)},
                   {"vault_id", membership.vault_id}};
  HX_ASSIGN_OR_RETURN(const std::string text, WriteRecordJson(kWhat, value));
  if (text.size() + kAeadOverhead > kMaxMembershipBytes) {
    return EncoderBug("EncodeMembership", "the record is larger than kMaxMembershipBytes");
  }
  return AeadSealSynthetic(ctx.keys.content, ctx.keys.nonce, MembershipAd(membership.vault_id),
                           AsBytes(text));
}

Result<Membership> DecodeMembership(const VaultContext& ctx,
                                    std::span<const std::uint8_t> bytes) {
  return AsStoreRecord(DecodeFields(ctx, bytes));
}

Result<MembershipState> ReadMembership(Store& store, const VaultContext& ctx) {
  MembershipState state;
  state.membership.vault_id = ctx.vault_id;
  auto current = store.GetVersioned(kMembershipKey, kMaxMembershipBytes);
  if (!current.ok()) {
    if (current.error().category == Category::kNotFound) return state;
    return std::move(current).error().With("key", std::string(kMembershipKey));
  }
  Result<Membership> decoded = DecodeMembership(ctx, current->first);
  if (!decoded.ok()) return std::move(decoded).error().With("key", std::string(kMembershipKey));
  state.membership = std::move(*decoded);
  state.version = std::move(current->second);
  return state;
}

Result<Membership> SetDeviceRole(Store& store, const VaultContext& ctx, std::string_view actor,
                                 std::string_view node_id, DeviceRole role, std::int64_t now_ms,
                                 const std::vector<std::string>& known_devices,
                                 std::uint64_t min_seq) {
  if (!IsLowerHex(actor, kShortIdHexLength)) return InvalidId("the acting device");
  if (!IsLowerHex(node_id, kShortIdHexLength)) return InvalidId("the device");
  if (now_ms < 0) return InvalidInput(SyncCode::kInputInvalid, "now_ms is negative");
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    HX_ASSIGN_OR_RETURN(MembershipState state, ReadMembership(store, ctx));
    const Membership& current = state.membership;
    if (current.RoleOf(actor) != DeviceRole::kWriter) {
      return Error(SyncCode::kAuthFailed, Category::kAuth,
                   "this device (" + std::string(actor) +
                       ") is a reader of this vault and cannot change roles; run the "
                       "command on a writer device")
          .With("node_id", std::string(actor));
    }
    const Member* existing = current.Find(node_id);
    if (existing != nullptr && existing->role == role && current.seq >= min_seq) return current;

    Membership next = current;
    next.seq = std::max(current.seq, min_seq) + 1;
    const Member updated{.node_id = std::string(node_id),
                         .role = role,
                         .set_by = std::string(actor),
                         .set_ms = now_ms};
    auto it = std::lower_bound(
        next.members.begin(), next.members.end(), node_id,
        [](const Member& member, std::string_view id) { return member.node_id < id; });
    if (it != next.members.end() && it->node_id == node_id) {
      *it = updated;
    } else {
      if (next.members.size() >= kMaxMembers) {
        return InvalidInput(SyncCode::kInputInvalid, "the vault already lists " +
                                                         std::to_string(kMaxMembers) +
                                                         " devices, the most it can hold");
      }
      next.members.insert(it, updated);
    }
    // Only a writer can undo a demotion; a vault without one is stuck.
    std::set<std::string> everyone(known_devices.begin(), known_devices.end());
    everyone.insert(std::string(actor));
    for (const Member& member : next.members) everyone.insert(member.node_id);
    const bool writer_left = std::any_of(everyone.begin(), everyone.end(), [&](const auto& id) {
      return next.RoleOf(id) == DeviceRole::kWriter;
    });
    if (!writer_left) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "this change would leave the vault without a writer, and only a "
                          "writer can change roles; make another device a writer first");
    }
    HX_ASSIGN_OR_RETURN(const Bytes bytes, EncodeMembership(ctx, next));
    Result<StoreVersion> written = state.version ? store.PutIfMatch(kMembershipKey, bytes,
                                                                    *state.version)
                                                 : store.PutIfAbsent(kMembershipKey, bytes);
    if (written.ok()) return next;
    if (written.error().category != Category::kAborted &&
        written.error().category != Category::kNotFound) {
      return std::move(written).error();
    }
  }
  return Error(SyncCode::kStateFailed, Category::kAborted,
               "could not update the membership record: other devices kept changing it; "
               "try again")
      .With("key", std::string(kMembershipKey));
}

}  // namespace hx
