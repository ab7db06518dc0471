// The vault's membership record: which devices may publish (writers) and
// which only follow (readers). `hx sync member list|set-role`.
//
// membership.hxmem holds the sealed (crypto/aead.h) canonical JSON
//   {"format_version":1,
//    "members":[{"node_id":"<32 hex>","role":"reader"|"writer",
//                "set_by":"<32 hex>","set_ms":T},...],
//    "seq":N,"vault_id":"<32 hex>"}
// under keys.content with a synthetic nonce under keys.nonce and associated
// data EncodeAssociatedData({"hx membership v1", vault_id}). Members are
// sorted by node_id, each listed once; seq starts at 1 and grows by one per
// write.
//
// Rules (docs/FORMAT.md, "Membership"):
//   - No record, or a device the record does not list, means writer: the
//     vault's creator and every joining device can publish until a writer
//     says otherwise. The record only ever lists devices whose role someone
//     set.
//   - Only a writer changes roles (KC_SYNC_AUTH_FAILED, Category::kAuth for
//     a reader), and never so that no known device is left a writer.
//   - Writes are compare-and-swap: PutIfAbsent for the first record,
//     PutIfMatch against the version read after; a lost race re-reads,
//     re-checks and retries.
//
// Threat model: every device holds the same vault key, so any device (or
// anyone with the passphrase) can write any record, this one included.
// Roles are enforced by honest hx clients (a reader's hx refuses to push,
// other devices' conservative_plus policies refuse to auto-merge a reader's
// changes); they are not enforced by cryptography. The store provider cannot
// forge or edit the record but can delete it or serve an older one, which
// a device that saw a newer one detects (it remembers the highest seq it
// saw, sync/governance.h).
//
// Thread-safety: pure functions and values; the store calls are as
// thread-safe as the Store.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

inline constexpr std::string_view kMembershipKey = "membership.hxmem";
// ~120 bytes a member: 1 MiB holds thousands of devices.
inline constexpr std::uint64_t kMaxMembershipBytes = std::uint64_t{1} << 20;
inline constexpr std::size_t kMaxMembers = 8192;

enum class DeviceRole : std::uint8_t { kReader, kWriter };
// "reader", "writer".
std::string_view ToString(DeviceRole role);
// The inverse; anything else is KC_SYNC_INPUT_INVALID naming the two roles.
Result<DeviceRole> ParseDeviceRole(std::string_view text);

struct Member {
  std::string node_id;  // 32 lowercase hex
  DeviceRole role = DeviceRole::kWriter;
  std::string set_by;   // the writer that set this role, 32 lowercase hex
  std::int64_t set_ms = 0;
  friend bool operator==(const Member&, const Member&) = default;
};

struct Membership {
  std::string vault_id;         // 32 lowercase hex
  std::uint64_t seq = 0;        // >= 1 once written; 0: no record yet
  std::vector<Member> members;  // sorted by node_id, unique

  // The role of `node_id`: its entry's, else writer (see above).
  DeviceRole RoleOf(std::string_view node_id) const;
  // The entry of `node_id`, if listed.
  const Member* Find(std::string_view node_id) const;
  friend bool operator==(const Membership&, const Membership&) = default;
};

// The sealed bytes of `membership`. Deterministic. KC_SYNC_INTERNAL for a
// record hx would refuse to read (seq 0, unsorted or duplicate members,
// malformed ids, negative times, another vault than ctx).
Result<Bytes> EncodeMembership(const VaultContext& ctx, const Membership& membership);

// Strictly decodes untrusted bytes of kMembershipKey. Failures, all
// KC_SYNC_STATE_FAILED: Category::kCorrupt (too large, does not authenticate
// as this vault's record, not canonical, malformed, unknown or unsorted
// fields, another vault), Category::kUnsupported (format_version above 1).
Result<Membership> DecodeMembership(const VaultContext& ctx, std::span<const std::uint8_t> bytes);

// The record as on the store, with the version to write against.
struct MembershipState {
  Membership membership;                // seq 0 and no members when absent
  std::optional<StoreVersion> version;  // set exactly when a record exists
};
// Reads the record; an absent record is an empty membership (everyone a
// writer). Decoding errors carry detail "key"; store errors pass through.
Result<MembershipState> ReadMembership(Store& store, const VaultContext& ctx);

// Sets `node_id`'s role to `role` on behalf of `actor` at now_ms, with the
// rules above, and returns the record written (or the unchanged record if
// the role was already set to that). `known_devices` are the devices the
// caller knows of besides the record's members and `actor` (those with a
// manifest): the change is refused (KC_SYNC_INPUT_INVALID) if none of them
// would remain a writer. A reader `actor`: KC_SYNC_AUTH_FAILED,
// Category::kAuth. Malformed ids: KC_SYNC_INPUT_INVALID. Store and decoding
// errors pass through; a race lost four times running is Category::kAborted.
// The new record's seq is one more than the larger of the stored seq and
// `min_seq` (the highest seq the caller has seen), so a record rewritten
// after the store lost or rolled it back supersedes every copy devices
// remember.
Result<Membership> SetDeviceRole(Store& store, const VaultContext& ctx, std::string_view actor,
                                 std::string_view node_id, DeviceRole role, std::int64_t now_ms,
                                 const std::vector<std::string>& known_devices,
                                 std::uint64_t min_seq = 0);

}  // namespace hx
