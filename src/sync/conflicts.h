// hx sync conflicts: the conflict artifacts of a vault (meta/conflict.h),
// from both places they live — the store's conflicts/ (every device's) and
// this device's .hx/conflicts/ (its own, with plaintext paths) — with what
// each was about and whether it still needs the user, and the pruning of
// those that do not.
//
// An artifact is
//   resolved  when a merge policy decided it (its decision is not
//             "refused"), or when it is this device's and this device has
//             since synced the store's head it conflicted with (its base
//             head seq is at least the artifact's remote head seq);
//   open      when it is this device's, refused, and the base is still
//             behind that head;
//   unknown   another device's refusal: only that device knows whether it
//             has been dealt with (never pruned).
// An artifact that cannot be read (damaged, a newer format) is listed with
// its problem and never pruned.
//
// Thread-safety: one call per vault at a time (the vault's process lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync/engine.h"

namespace hx {

struct ConflictEntry {
  std::string name;  // conflict_<created_ms>_<id16>.json
  bool in_store = false;
  bool local = false;  // in this device's .hx/conflicts/
  std::string state;   // "open", "resolved", "unknown", "unreadable"
  std::optional<std::string> problem;  // why it is unreadable
  std::string kind;                    // "push_diverged", "pull_concurrent"
  std::int64_t created_ms = 0;
  std::string node_id;  // the device that recorded it
  std::string policy;
  std::string decision;
  std::uint64_t remote_head_seq = 0;
  std::vector<std::string> paths;
  bool pruned = false;
};

struct ConflictsReport {
  std::string vault_path;
  std::optional<std::uint64_t> base_head_seq;
  std::vector<ConflictEntry> conflicts;  // by name (oldest first)
  bool prune = false;
  std::uint64_t pruned = 0;
  nlohmann::json ToJson() const;
  std::string ToHuman() const;
};

// Lists the vault's conflict artifacts; with `prune`, deletes the resolved
// ones (store copy and local copy). Opening fails as every operation does
// (sync/session.h); a store listing that fails is the error.
Result<ConflictsReport> SyncConflicts(const std::filesystem::path& vault,
                                      const SyncOptions& options, bool prune);

}  // namespace hx
