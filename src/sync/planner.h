// The planner: pure functions that turn the base state (what this device
// last synced), the local state (what the scanner sees now) and the remote
// state (what the store's head says) into a plan. No I/O, no clock: the
// property tests of convergence live here.
//
//   DetectLocalChanges(base, scanned, node)  -> what this device would publish
//   PlanPull(local, remote)                  -> per path: take remote, join,
//                                               or a conflict
//
// Version vectors decide (repo/tree.h): an entry whose vector descends from
// the other's wins; equal content is the store's entry (PlanPull records the
// remote's vector, so a base never holds knowledge the store lacks and a
// push with no change on disk has nothing to publish); concurrent changes are
// conflicts for the merge policy. Tombstones take part like any entry, so a
// deletion is never undone by a device that did not see it, and an edit
// concurrent with a deletion is a conflict, never silently lost.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "repo/tree.h"

namespace hx {

struct ChangeCounts {
  std::uint64_t added = 0;
  std::uint64_t modified = 0;
  std::uint64_t deleted = 0;
  std::uint64_t total() const { return added + modified + deleted; }
  friend bool operator==(const ChangeCounts&, const ChangeCounts&) = default;
};

struct LocalChanges {
  // The state this device would publish: base entries for unchanged paths,
  // changed entries with this node's counter bumped, tombstones for paths
  // that disappeared.
  EntryMap state;
  // Changed paths, sorted, by kind of change.
  std::vector<std::string> added;
  std::vector<std::string> modified;
  std::vector<std::string> deleted;

  ChangeCounts counts() const { return {added.size(), modified.size(), deleted.size()}; }
  bool empty() const { return added.empty() && modified.empty() && deleted.empty(); }
};

// Compares the scanned folder with the base. `scanned` holds live entries
// only (files, dirs, symlinks; their vv is ignored). An unchanged entry keeps
// the base entry (and its vv; a new mtime alone is not a change). A changed
// or new entry gets the base's vv (if any, tombstones included) bumped for
// `node`. A live base entry missing from `scanned` becomes a tombstone with
// the bumped vv; a base tombstone stays as it is.
LocalChanges DetectLocalChanges(const EntryMap& base, const EntryMap& scanned,
                                std::string_view node);

enum class PullAction {
  kKeepLocal,   // this device's version descends from the remote one
  kTakeRemote,  // the remote changed it and this device did not: apply remote
  kJoin,        // both sides hold the same content: keep it, as the store's
  kConflict,    // both changed it concurrently (the policy decides)
};

// The entry of a side that has no entry at a path: a tombstone with an
// empty vector (a PlannedItem's local or remote then points at it).
const Entry& NoEntry();

// One path of a plan. Its entries are not copies (at 100,000 items of a
// first pull, copies of both were 23 MB of the pull's peak): they point at
// the entries of its own path in the local and remote states the plan was
// made from, at NoEntry(), or (resolve.h) at entries a Resolution owns. So
// those maps must outlive the item, and an entry an item points at must not
// be erased or assigned while the item is read (a std::map's other changes
// leave it where it is: the pull drops the rest of the local state, and
// moves the remote state into the new base, while its items live).
struct PlannedItem {
  std::string path;
  PullAction action = PullAction::kTakeRemote;
  const Entry* local = &NoEntry();   // never null
  const Entry* remote = &NoEntry();  // never null
};

struct PullPlan {
  // Only paths where something is to be done, sorted by path. Paths changed
  // only locally are not listed: they stay as they are and are pushed later.
  std::vector<PlannedItem> items;
  // The live files and symlinks of the state after the plan (MergedState):
  // what the mass-delete guard compares with what the scan saw.
  std::uint64_t live_files_after = 0;

  bool HasConflicts() const;
  std::vector<std::string> ConflictPaths() const;
};

// Plans a pull. `local` is DetectLocalChanges(base, scanned).state, `remote`
// the state of the store's head. The vectors carry all the history needed:
// a path only one side knows is new on that side; both sides descend from
// the base, so an unchanged side compares kBefore the changed one. A path
// whose remote version would remove a directory (or replace it by a file)
// that still has live local content is a conflict, never a silent delete.
PullPlan PlanPull(const EntryMap& local, const EntryMap& remote);
// The plan's items point into `local` and `remote`: never temporaries.
PullPlan PlanPull(const EntryMap&& local, const EntryMap& remote) = delete;
PullPlan PlanPull(const EntryMap& local, const EntryMap&& remote) = delete;

// The state after applying `plan` (made from `local` and `remote`) without
// conflicts: remote entries (joins included) and local-only changes on top
// (what the next push publishes); a conflict's path keeps the local entry.
// Made when asked for (a copy of every entry), not held by the plan.
EntryMap MergedState(const PullPlan& plan, const EntryMap& local, const EntryMap& remote);

// The entry-level merge used by PlanPull, exposed for property tests: how
// the local version `local` and the remote version `remote` of one path
// combine. The resulting entry is symmetric: MergeEntries(a, b).entry ==
// MergeEntries(b, a).entry (for kConflict it is the deterministic winner
// that a keep_both policy keeps under the original name).
struct EntryMerge {
  PullAction action = PullAction::kJoin;
  Entry entry;
};
EntryMerge MergeEntries(const Entry& local, const Entry& remote);

}  // namespace hx
