// PreparePull: everything a pull decides on, computed without changing the
// vault or the store — the base this device last synced, the store's head
// and the snapshot at it, the remote entries (only trees that differ from the
// base are loaded), a scan of the folder, the local changes and the plan.
//
// Pull applies it; merge-preview, link and governance compute on exactly the
// same data so they can never disagree with what a pull would do.
//
// Thread-safety: a PreparedPull is a value owned by one thread; its fetcher
// borrows the Session (which must outlive it).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "index/index.h"
#include "meta/head.h"
#include "meta/snapshot.h"
#include "repo/tree.h"
#include "scan/scanner.h"
#include "sync/engine.h"
#include "sync/fetcher.h"
#include "sync/internal.h"
#include "sync/planner.h"
#include "sync/session.h"

namespace hx {

struct PreparedPull {
  BaseState base;
  HeadState head_state;
  // The store's head; nullopt for an empty vault (then nothing else is set).
  std::optional<Head> head;
  // True when there is nothing to plan: an empty vault, or the head is the
  // complete base. Then snapshot, remote, scan, local and plan are empty.
  bool up_to_date = false;
  // True when the head does not descend from the base (a store restored
  // from a backup, then built on by a device that never saw the newer
  // head): the pull merges it like a concurrent change, and `history` is
  // the head's whole history, which replaces the object index when the
  // pull commits (SyncedState::history).
  bool diverged = false;
  std::vector<ImportedSnapshot> history;
  // When diverged (or while earlier kept versions await a push, kMetaRepublish):
  // for each path where this device keeps its own version (it descends from
  // the head's, or the head lacks the path), that version, which the new
  // base records instead of the head's entry, and which the next push
  // publishes as it is, vector included (kMetaRepublish). Publishing it
  // unchanged, not as a new edit, keeps the history true: a deletion
  // another device made after seeing it still wins, and no counter is
  // used twice for different content.
  EntryMap kept_versions;
  // The snapshot at the head (author, parents, key fingerprint, summary;
  // its `added` locations are moved into the fetcher).
  std::optional<Snapshot> snapshot;
  // The remote state. Under a damaged subtree (listed in damaged_dirs, the
  // first error in first_damage) the base entries stand in for the remote.
  FlattenedTrees remote;
  std::vector<std::string> damaged_dirs;
  std::optional<Error> first_damage;
  // The scan, kept only for the paths the plan can touch (those that differ
  // between the base and the remote state, or between the base and the
  // folder): what the applier re-checks. base.stats likewise (the stat
  // cache rows the scan started from, of those that are files). The folder
  // is compared with the base directory by directory
  // (local_changes_stream.h): the whole scan is never held.
  ScanResult scan;
  // Live files and symlinks the whole scan saw (the mass-delete guard).
  std::uint64_t scanned_live_files = 0;
  // The local changes; local.state is filled only when there are some.
  LocalChanges local;
  PullPlan plan;

  // The state this device would publish: local.state, or the base itself
  // when nothing changed locally (then no copy of the base is made).
  const EntryMap& LocalState() const { return local.empty() ? base.entries : local.state; }
  // Fetches the remote objects; borrows the Session. It holds the object
  // locations learned from the imported snapshot bodies (fetcher->TakeLearned(),
  // recorded in the index when the pull commits).
  std::unique_ptr<ObjectFetcher> fetcher;
};

// Reads the head, scans the folder, imports the new snapshot bodies, loads
// the differing trees and plans. Fills report.target, head_seq, snapshot_id,
// snapshots_read and trees_loaded. Writes nothing. Failures: store and index
// errors; a lost head (ReadHeadForBase); a replayed head
// (CheckHeadNotReplayed); a snapshot made with
// another key or an unreadable root tree (KC_SYNC_STATE_FAILED).
Result<PreparedPull> PreparePull(Session& s, const SyncOptions& options, PullReport& report);

// The pull itself on an open session (pull.cc): what SyncPull and a push
// with a merge policy (which first merges what the store has) run.
Result<PullReport> PullInSession(Session& s, const SyncOptions& options);

}  // namespace hx
