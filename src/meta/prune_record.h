// The prune record: which packs a prune has condemned (they will be deleted
// after a grace period unless a retained snapshot needs them again) and
// which it has deleted, so that every device can stop trusting local object
// locations in them (docs/ARCHITECTURE.md, "Retention and prune").
//
// prune.json holds canonical JSON, MAC'd under keys.mac like head.json:
//   {"author":"<node id>","condemned":[{"pack":"<64 hex>","since_ms":N},...],
//    "deleted":[{"epoch":E,"pack":"<64 hex>"},...],"epoch":E,
//    "format_version":1,"mac":"<64 hex>","updated_ms":N,"vault_id":"<32 hex>"}
// condemned sorted by pack, deleted sorted by pack, each pack at most once in
// each list and never in both; epoch >= 1 grows by one with every write; the
// epoch of a deleted entry is the record's epoch that deleted it (<= epoch).
// Format 2 (written once a prune has condemned a snapshot body, and from
// then on, since deleted entries stay) adds, between "condemned" and
// "deleted" and after "deleted", in canonical key order:
//   "condemned_snapshots":[{"since_ms":N,"snapshot":"<64 hex>"},...],
//   "deleted_snapshots":[{"epoch":E,"snapshot":"<64 hex>"},...]
// with the same rules (sorted, unique, disjoint, epochs <= epoch). A reader
// that meets a missing snapshot listed in deleted_snapshots knows a prune
// removed a forgotten snapshot's body on purpose (not damage): every object
// it located is located again by a newer snapshot of the head's history.
// A format-1 reader refuses format 2 as "made by a newer hx" (unsupported),
// which is why a prune condemns snapshots only when every device's manifest
// advertises prune_v2 (sync/prune_guard.h).
// Written only under the store's write lock, with PutIfAbsent (first) or
// PutIfMatch against the version read (a lost race is Category::kAborted).
//
// Thread-safety: pure functions and values; store calls as the Store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"

namespace hx {

inline constexpr std::string_view kPruneRecordKey = "prune.json";
// ~100 bytes per pack: 16 MiB holds about 160,000 packs (2.5 TB of 16 MiB
// packs deleted over the vault's life).
inline constexpr std::uint64_t kMaxPruneRecordBytes = std::uint64_t{16} << 20;

struct PruneRecord {
  std::string author;  // node id, 32 lowercase hex
  std::uint64_t epoch = 0;
  std::int64_t updated_ms = 0;
  std::map<std::string, std::int64_t> condemned;  // pack -> since_ms
  std::map<std::string, std::uint64_t> deleted;   // pack -> epoch of deletion
  // Snapshot bodies (format 2): snapshot id -> since_ms / epoch of deletion.
  std::map<std::string, std::int64_t> condemned_snapshots;
  std::map<std::string, std::uint64_t> deleted_snapshots;
  // 2 when either snapshot list is not empty, else 1.
  std::int64_t FormatVersion() const {
    return condemned_snapshots.empty() && deleted_snapshots.empty() ? 1 : 2;
  }
  friend bool operator==(const PruneRecord&, const PruneRecord&) = default;
};

// Canonical, MAC'd bytes. KC_SYNC_INTERNAL for a record hx would not read.
Result<Bytes> EncodePruneRecord(const VaultContext& ctx, const PruneRecord& record);
// Strict decoding of untrusted bytes: KC_SYNC_STATE_FAILED, Category::kCorrupt
// (bounded, canonical, this vault's, MAC verified, lists sorted and disjoint)
// or Category::kUnsupported (a newer format_version).
Result<PruneRecord> DecodePruneRecord(const VaultContext& ctx, std::span<const std::uint8_t> bytes);

struct StoredPruneRecord {
  std::optional<PruneRecord> record;    // nullopt: no prune ever ran
  std::optional<StoreVersion> version;  // set exactly when record is
};
// Reads prune.json (one GET). Absent: no record. A record that does not
// decode is returned as its error (detail "key"): a device must not guess
// which packs are gone.
Result<StoredPruneRecord> ReadPruneRecord(Store& store, const VaultContext& ctx);

// Whether snapshot ids were deleted by a prune on purpose, for the readers
// that walk parents (pull, link, log, verify): a missing parent listed here
// ends that branch of the walk instead of failing it. Reads prune.json once,
// on the first question (most walks never ask).
class PrunedSnapshots {
 public:
  // Borrows both, which must outlive this.
  PrunedSnapshots(Store& store, const VaultContext& ctx) : store_(&store), ctx_(&ctx) {}
  // Errors: ReadPruneRecord's.
  Result<bool> WasDeleted(const std::string& snapshot_id);
  // Whether `error` (from reading snapshot `id`) means "gone on purpose":
  // not found, and listed as deleted. Other errors: false.
  Result<bool> ExplainsMissing(const Error& error, const std::string& snapshot_id);

 private:
  Store* store_;
  const VaultContext* ctx_;
  std::optional<std::map<std::string, std::uint64_t>> deleted_;
};

// Writes `next` over `previous` (PutIfAbsent when there was none, else
// PutIfMatch). next.epoch must be greater than the previous epoch
// (KC_SYNC_INTERNAL otherwise).
Result<StoreVersion> WritePruneRecord(Store& store, const VaultContext& ctx,
                                      const StoredPruneRecord& previous, const PruneRecord& next);

}  // namespace hx
