// hx sync forget: marks snapshots as forgotten with a signed record in the
// store, never a silent deletion; hx sync prune (prune.h; see
// docs/ARCHITECTURE.md, "Retention and prune") then deletes what only
// forgotten snapshots needed. Forgetting changes no data: a forgotten snapshot
// is still listed (marked), restorable and checked until a prune removes it.
//
// Record (docs/FORMAT.md, "Forget records"): forgets/<record_id>.json,
// canonical JSON MAC'd under keys.mac like head.json:
//   {"author":"<node id>","created_ms":N,"format_version":1,"mac":"<64 hex>",
//    "policy":"<the rules, as text>","snapshots":["<snapshot id>",...],
//    "vault_id":"<32 hex>"}
// snapshots sorted, unique, 1..kMaxForgetIds; record_id = hex(BLAKE3 of the
// record's bytes), checked by readers. Written with PutIfAbsent; records
// only accumulate: the forgotten set is the union of every valid record.
//
// Policy (restic's vocabulary), over the head's history newest first: a
// snapshot is kept if any rule keeps it: --keep-last N (the N newest),
// --keep-within D (created within D of the newest: "36h", "7d", "2w", "6m" =
// 30 days each, "1y" = 365 days), --keep-hourly/daily/weekly/monthly/yearly N
// (the newest snapshot of each of the N newest UTC hours/days/ISO weeks/
// months/years that have one). Never forgotten whatever the rules: the head,
// and the snapshot at the head seq each device's manifest last saw (a device
// offline since then still finds its base). A run with no rule is
// KC_SYNC_INPUT_INVALID (it would forget everything but those).
//
// Thread-safety: as every operation of sync/engine.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "repo/vault_context.h"
#include "store/store.h"
#include "sync/engine.h"

namespace hx {

inline constexpr std::string_view kForgetPrefix = "forgets/";
inline constexpr std::size_t kMaxForgetIds = 200'000;
inline constexpr std::size_t kMaxForgetRecordBytes = std::size_t{16} << 20;
// At most this many forget records are read.
inline constexpr std::size_t kMaxForgetRecords = 10'000;

struct ForgetRecord {
  std::string author;
  std::int64_t created_ms = 0;
  std::string policy;
  std::vector<std::string> snapshots;  // sorted, unique
};

// The record's bytes and its key (forgets/<record_id>.json). KC_SYNC_INTERNAL
// for a record hx would refuse to read.
struct EncodedForget {
  std::string key;
  Bytes bytes;
};
Result<EncodedForget> EncodeForgetRecord(const VaultContext& ctx, const ForgetRecord& record);
// Strictly decodes an untrusted record stored under `key`: canonical,
// bounded, this vault's, MAC verified, key matching the bytes. Failures:
// KC_SYNC_STATE_FAILED, corrupt (or unsupported for a newer format_version).
Result<ForgetRecord> DecodeForgetRecord(const VaultContext& ctx, std::string_view key,
                                        std::span<const std::uint8_t> bytes);

// Every snapshot id some valid record forgets. A record that does not
// decode forgets nothing (fail safe: it can only keep more) and is described
// in `problems`. Store errors pass through.
Result<std::set<std::string>> ReadForgotten(Store& store, const VaultContext& ctx,
                                            std::vector<std::string>* problems);

struct ForgetOptions {
  std::optional<std::uint64_t> keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly,
      keep_yearly;
  std::string keep_within;  // empty: none
  bool dry_run = false;
};

struct ForgetReport {
  std::string target;
  std::string policy;
  bool dry_run = false;
  // Newest first: every snapshot of the head's history with "keep" reasons
  // ("last", "within", "hourly", "daily", "weekly", "monthly", "yearly",
  // "head", "device <node8>") or "forgotten" (already or now).
  struct Item {
    std::uint64_t seq = 0;
    std::string snapshot_id;
    std::int64_t created_ms = 0;
    bool kept = false;
    bool already_forgotten = false;
    std::vector<std::string> reasons;
  };
  std::vector<Item> snapshots;
  std::uint64_t kept = 0, forgotten_now = 0, already_forgotten = 0;
  std::string record_key;  // empty: nothing written
  std::vector<std::string> warnings;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

Result<ForgetReport> SyncForget(const std::filesystem::path& vault, const SyncOptions& options,
                                const ForgetOptions& forget);

// "36h", "7d", "2w", "6m", "1y" (combinations like "1y6m" too) to ms;
// nullopt for anything else or more than 1000 years.
std::optional<std::int64_t> ParseRetentionDuration(std::string_view text);

}  // namespace hx
