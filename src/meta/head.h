// head.json: the vault's current snapshot, the one record every device reads
// first and the only one that is replaced in place.
//
// Format (docs/FORMAT.md, "head.json"), canonical JSON:
//   {"format_version":1,"mac":"<64 hex>","seq":N,"snapshot_id":"<64 hex>",
//    "vault_id":"<32 hex>"}
// mac = hex(keyed BLAKE3 under keys.mac of the canonical JSON of the same
// object without "mac"). seq starts at 1 and grows by exactly one per
// published snapshot. The head is MAC'd, not sealed: the store may see which
// snapshot is current (it sees the snapshot files anyway), but cannot forge
// or edit a head. It can replay an old one; devices catch that by
// remembering the highest seq they saw (CheckHeadNotReplayed).
//
// Publishing is a compare-and-swap against the version read before
// (PutIfAbsent for the first head, PutIfMatch after), so of two devices
// publishing over the same head exactly one wins where the store's
// conditional writes are atomic (StoreCapabilities); elsewhere the caller
// holds the write lock (meta/lock.h), as push always does.
//
// Thread-safety: pure functions and values; the store calls are as
// thread-safe as the Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

inline constexpr std::string_view kHeadKey = "head.json";
// head.json is ~200 bytes; anything beyond this is refused unread.
inline constexpr std::uint64_t kMaxHeadBytes = 4096;

struct Head {
  std::string vault_id;     // 32 lowercase hex
  std::uint64_t seq = 0;    // >= 1
  std::string snapshot_id;  // 64 lowercase hex
  friend bool operator==(const Head&, const Head&) = default;
};

// The canonical bytes of `head`, MAC'd under ctx.keys.mac. Deterministic.
// Fails with KC_SYNC_INTERNAL if `head` is not valid (seq 0, malformed ids,
// or a vault id other than ctx.vault_id): a caller bug.
Result<Bytes> EncodeHead(const VaultContext& ctx, const Head& head);

// Strictly decodes untrusted head bytes and verifies the MAC. Failures, all
// KC_SYNC_STATE_FAILED:
//   - Category::kUnsupported: format_version above 1 ("made by a newer hx");
//   - Category::kCorrupt, naming the problem: too long, not canonical JSON,
//     missing/extra/mistyped fields, seq 0, a vault_id other than
//     ctx.vault_id ("belongs to vault X"), a MAC that does not verify
//     (tampered or written without this vault's key).
Result<Head> DecodeHead(const VaultContext& ctx, std::string_view bytes);

// The head as read from a store, with the version to publish against.
struct HeadState {
  std::optional<Head> head;            // nullopt: no head yet (an empty vault)
  std::optional<StoreVersion> version;  // set exactly when head is
};

// Reads and decodes head.json. An absent head is an empty vault (no error);
// store errors pass through; a present head that fails DecodeHead is that
// error (with detail "key").
Result<HeadState> ReadHead(Store& store, const VaultContext& ctx);

// Replaces `previous` (as returned by ReadHead) by `next`: PutIfAbsent when
// there was no head, else PutIfMatch(previous.version). Returns the new
// version. Preconditions checked (KC_SYNC_INTERNAL on violation):
// next.seq == previous seq + 1 (1 for the first head), and next is valid
// for EncodeHead. A head that changed since `previous` was read fails with
// the store's Category::kAborted: re-read and redo the push decision.
Result<StoreVersion> PublishHead(Store& store, const VaultContext& ctx,
                                 const HeadState& previous, const Head& next);

// Writes `head` where there is no head.json at all (PutIfAbsent), whatever
// its seq: `hx sync repair` re-publishing the head a device last synced
// after the store lost head.json (sync/repair.h). A head that exists by
// then fails with the store's Category::kAborted. Preconditions as
// EncodeHead (KC_SYNC_INTERNAL).
Result<StoreVersion> RestoreHead(Store& store, const VaultContext& ctx, const Head& head);

// Replay protection: fails (KC_SYNC_STATE_FAILED, Category::kCorrupt) if
// `head.seq` is below `highest_seen_seq`, the largest seq this device has
// accepted before, which means the store served an older head.json
// (replayed by the store, or restored from a backup). The message names
// `hx sync repair`, which accepts such a head once the user says the store
// was restored (the next pull then merges it: nothing this device holds is
// lost, and the next push re-publishes what the head lacks).
Status CheckHeadNotReplayed(const Head& head, std::uint64_t highest_seen_seq);

}  // namespace hx
