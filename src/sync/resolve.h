// Conflict resolution: a pure function from the conflicts of a PullPlan and
// a resolving merge policy (keep_both, local_preferred, cloud_preferred,
// manual_per_item) to what the pull must do. No I/O: pull.cc carries it out
// — the remote versions that lose are fetched into the archive, then the
// items go through ApplyPlan, which keeps each losing local version (a
// move: to a conflict name or into the archive) in the same step that puts
// the remote version at its path (sync/displace.h), so the path is never
// empty; a move whose path has no item to apply is made on its own first.
//
// Rules, per conflicting path P with local version L and remote version R
// (docs/ARCHITECTURE.md "Merge policies"):
//   keep_both        both kept. Edit vs delete: the edit survives at P.
//                    Two live versions: the deterministic winner of
//                    MergeEntries keeps P, the loser goes to
//                    ConflictCopyName(P, loser, winner) — a name built from
//                    ids, the same on every device. A directory always keeps
//                    P (the other version is renamed), so nothing is lost.
//   cloud_preferred  R at P; a live L is moved into the archive.
//   local_preferred  L stays; a live R (file or symlink) is fetched into the
//                    archive.
//   manual_per_item  per path, "local" / "remote" / "both" act as
//                    local_preferred / cloud_preferred / keep_both.
// Directories never go to the archive: where a policy would replace or
// remove a directory that holds live content, keep_both's rule applies.
// A remote change under a directory this device deleted (or replaced by a
// file) brings the directory back (its ancestors are recreated; a local
// file in the way is renamed or archived), except under local_preferred,
// which keeps the deletion and archives the remote version.
//
// What is recorded: the index's base takes the remote entries for every
// resolved path, so whatever stays different on disk (a kept local version,
// a conflict copy) is a local change that the next push publishes on top of
// the remote vectors — it descends from both sides and never conflicts
// again. Two devices that resolve the same conflict produce the same
// content under the same names, which join. Resolving the same conflict
// twice (the copy is already there with the same bytes) reuses the copy;
// a copy name taken by other bytes gives the loser ConflictCopyVariant's
// next name (sync/displace.h): nothing is ever replaced.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "merge/policy.h"
#include "repo/tree.h"
#include "sync/planner.h"

namespace hx {

enum class ManualChoice { kLocal, kRemote, kBoth };
std::string_view ToString(ManualChoice choice);  // "local", "remote", "both"

// A decisions file (manual_per_item): conflicting path -> choice.
using Decisions = std::map<std::string, ManualChoice>;

inline constexpr std::size_t kMaxDecisionsFileBytes = std::size_t{16} << 20;
inline constexpr int kDecisionsFormatVersion = 1;

// Strictly parses a decisions file:
//   {"decisions":{"<path>":"local"|"remote"|"both",...},"format_version":1}
// (any key order and whitespace; duplicate keys, unknown fields, other
// values, empty or non-relative paths are refused). Errors:
// KC_SYNC_INPUT_INVALID naming the problem; never throws.
Result<Decisions> ParseDecisions(std::string_view bytes);

// The name of the conflict copy of `path` for the losing version `loser`
// (whose winner is `winner`):
//   "<dir>/<stem> (conflict <node8> <content8>)<ext>"
// node8: the first 8 hex digits of the smallest node id whose counter in
// the loser's vector exceeds the winner's (the device that made the losing
// change; the smallest node of the loser's vector if none does);
// content8: the first 8 hex digits of ContentId(loser). <ext> is the last
// ".xyz" of the base name (none for names starting with their only dot).
std::string ConflictCopyName(std::string_view path, const Entry& loser, const Entry& winner);

// The conflict copy name `copy` (a name ConflictCopyName made, or one of
// its variants) as its variant `variant` >= 2:
//   "<dir>/<stem> (conflict <node8> <content8> <variant>)<ext>"
// — the name a conflict copy takes when its own name is taken by other bytes
// (sync/displace.h). A name without the "(conflict ...)" marker gets
// ".~<variant>~" appended.
std::string ConflictCopyVariant(std::string_view copy, int variant);

// BLAKE3 hex of a canonical description of an entry's content (kind, size,
// executable bit and chunk ids, or link target): equal exactly when
// SameContent.
std::string ContentId(const Entry& entry);

// A local version to move out of the way before anything is applied.
struct LocalMove {
  std::string path;
  // keep_both: the vault-relative conflict name it moves to; nullopt: into
  // the archive (cloud_preferred).
  std::optional<std::string> to;
};

// A remote version to fetch into the archive (local_preferred).
struct RemoteArchive {
  std::string path;
  Entry remote;
};

// What a policy decided for one conflicting path (for the report).
struct ResolvedConflict {
  std::string path;
  MergePolicy policy = MergePolicy::kKeepBoth;  // for manual_per_item: the choice's policy
  std::string decision;                         // "kept_local", "kept_remote", "kept_both"
  std::optional<std::string> renamed_to;        // keep_both: the loser's new name
  bool archive_local = false;                   // the local version goes to the archive
  bool archive_remote = false;                  // the remote version goes to the archive
};

struct Resolution {
  std::vector<LocalMove> moves;             // sorted by path, unique
  std::vector<RemoteArchive> archives;      // sorted by path, unique
  // The plan's items without conflicts, plus what the resolutions apply
  // (remote versions at their path or at a conflict name, directories to
  // recreate). Every item is kTakeRemote or kJoin; sorted by path, unique.
  // An item points at the entries of its own path in the plan's local and
  // remote states (planner.h), or at one of `made`.
  std::vector<PlannedItem> items;
  std::vector<ResolvedConflict> conflicts;  // sorted by path
  // The entries of items that are in neither state at the item's path (a
  // directory to recreate, a version under a conflict name). Each has its
  // own allocation: a moved Resolution's items still point at them.
  std::vector<std::unique_ptr<const Entry>> made;
};

// Resolves every conflict of `plan` (made from `local`, the local state,
// and `remote`, the remote state; both must outlive the Resolution) under `policy`, which must be a resolving policy (IsResolvingPolicy). For
// manual_per_item, `decisions` must name exactly the conflicting paths:
// otherwise KC_SYNC_MERGE_PRECONDITION_FAILED listing the missing and the
// extra ones (a null `decisions` is KC_SYNC_INTERNAL: the caller reports
// the conflict instead).
Result<Resolution> ResolveConflicts(const PullPlan& plan, const EntryMap& local,
                                    const EntryMap& remote, MergePolicy policy,
                                    const Decisions* decisions);
Result<Resolution> ResolveConflicts(const PullPlan& plan, const EntryMap&& local,
                                    const EntryMap& remote, MergePolicy policy,
                                    const Decisions* decisions) = delete;
Result<Resolution> ResolveConflicts(const PullPlan& plan, const EntryMap& local,
                                    const EntryMap&& remote, MergePolicy policy,
                                    const Decisions* decisions) = delete;

}  // namespace hx
