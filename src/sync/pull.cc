// hx sync pull: apply the store's changes to this device.
//
// A pull with nothing new reads vault.json (at open) and head.json, nothing
// else. Otherwise it imports the snapshot bodies it has not seen (they index
// the objects their pushes added), loads only the trees whose ids differ
// from the base, scans the folder, and plans per path with version vectors.
// Concurrent changes to the same path stop the pull before anything is
// applied (KC_SYNC_CONFLICT and an artifact); otherwise every item is
// applied atomically, each re-checked against the scan, and the index then
// records what was applied. A crash in the middle leaves files that the next
// run recognises by content (they equal the remote version: a join).
#include <algorithm>
#include <set>

#include "json/canonical_json.h"
#include "meta/conflict.h"
#include "meta/head.h"
#include "meta/snapshot.h"
#include "repo/object_codec.h"
#include "scan/scanner.h"
#include "sync/apply.h"
#include "sync/engine.h"
#include "sync/fetcher.h"
#include "sync/internal.h"
#include "sync/mass_delete.h"
#include "sync/planner.h"
#include "sync/prepare.h"
#include "sync/session.h"

namespace hx {
namespace {

ConflictArtifact PullConflict(const Session& s, const BaseState& base, const LocalChanges& local,
                              const Head& head, const PullPlan& plan, std::int64_t now_ms) {
  ConflictArtifact a;
  a.vault_id = s.ctx.vault_id;
  a.kind = ConflictKind::kPullConcurrent;
  a.created_ms = now_ms;
  a.base_snapshot = base.snapshot_id;
  a.local_node_id = s.local.config().node_id;
  a.local_changes = {local.added.size(), local.modified.size(), local.deleted.size()};
  a.remote_head_seq = head.seq;
  a.remote_snapshot_id = head.snapshot_id;
  a.paths = plan.ConflictPaths();
  return a;
}

// Keeps the per-item result of a pull that applied something, as
// .hx/reports/pull_<now_ms>.json (best effort: a report that cannot be
// written never fails the pull).
void SaveReport(const Session& s, const PullReport& report, std::int64_t now_ms) {
  Result<std::string> json = WriteCanonicalJson(report.ToJson());
  if (!json.ok()) return;
  (void)LocalState::WriteFileAtomic(
      s.local.reports_dir() / ("pull_" + std::to_string(now_ms) + ".json"), *json);
}

std::string DescribeAction(const PlannedItem& item) {
  if (item.action == PullAction::kJoin) return "join";
  switch (item.remote.kind) {
    case EntryKind::kFile: return "write";
    case EntryKind::kSymlink: return "symlink";
    case EntryKind::kDir: return "mkdir";
    case EntryKind::kTombstone: return "delete";
  }
  return "write";
}

}  // namespace

Result<PullReport> PullInSession(Session& s, const SyncOptions& options) {
  PullReport report;
  HX_ASSIGN_OR_RETURN(PreparedPull p, PreparePull(s, options, report));
  if (p.up_to_date) {
    report.outcome = "up_to_date";
    return report;
  }
  const Head& head = *p.head;
  BaseState& base = p.base;
  FlattenedTrees& remote = p.remote;
  ScanResult& scan = p.scan;
  LocalChanges& local = p.local;
  PullPlan& plan = p.plan;
  ObjectFetcher& fetcher = *p.fetcher;
  const std::vector<ObjectLocation>& learned = p.learned;

  if (plan.HasConflicts()) {
    const std::vector<std::string> paths = plan.ConflictPaths();
    std::string named = paths.front();
    if (paths.size() > 1) named += " and " + std::to_string(paths.size() - 1) + " more";
    return ReportConflict(
        s, PullConflict(s, base, local, head, plan, options.now_ms),
        "both this device and the store changed " + named +
            "; nothing was applied. Resolve by hand, or pull with --auto-merge <policy>");
  }

  // The mass-delete guard: how many live local files would the pull delete?
  std::vector<std::string> deleting;
  for (const PlannedItem& item : plan.items) {
    if (item.action == PullAction::kTakeRemote && item.remote.kind != EntryKind::kFile &&
        item.remote.kind != EntryKind::kSymlink) {
      deleting.push_back(item.path);
    }
  }
  HX_RETURN_IF_ERROR(CheckMassDelete({.live_before = CountLiveFiles(scan.entries),
                                      .deleting = CountDeletedFiles(scan.entries, deleting),
                                      .live_after = CountLiveFiles(plan.merged),
                                      .max_share_pct = s.local.config().mass_delete_max_share_pct,
                                      .confirmed = options.allow_mass_delete,
                                      .operation = "pull"}));

  options.Checkpoint("pull.before_apply");
  std::vector<AppliedItem> applied = ApplyPlan({.vault = s.local.vault(),
                                                .staging = s.local.staging_dir(),
                                                .scan = &scan,
                                                .cache = &base.stats,
                                                .checkpoint = &options},
                                               plan.items, fetcher);
  options.Checkpoint("pull.after_apply");

  // The new base: the remote state, except where an item was not applied
  // (it keeps its old base, so the next pull plans it again) and where both
  // sides joined (the joined vector).
  SyncedState synced;
  synced.entries = remote.entries;
  synced.stat_changes = scan.stat_changes;
  // Keep the delta's invariant: a path is put or removed, never both.
  auto stat_put = [&](const std::string& path, StatCacheEntry entry) {
    auto& remove = synced.stat_changes.remove;
    remove.erase(std::remove(remove.begin(), remove.end(), path), remove.end());
    synced.stat_changes.put.insert_or_assign(path, std::move(entry));
  };
  auto stat_remove = [&](const std::string& path) {
    synced.stat_changes.put.erase(path);
    auto& remove = synced.stat_changes.remove;
    if (std::find(remove.begin(), remove.end(), path) == remove.end()) remove.push_back(path);
  };
  bool exact = true;
  std::vector<std::string> added, modified, deleted;
  std::vector<std::string> failed_paths;
  for (std::size_t i = 0; i < plan.items.size(); ++i) {
    const PlannedItem& item = plan.items[i];
    AppliedItem& done = applied[i];
    PullItem out{item.path, DescribeAction(item), std::string(ToString(done.status)), done.error};
    report.items.push_back(out);
    if (done.status != ApplyStatus::kApplied) {
      exact = false;
      auto was = base.entries.find(item.path);
      if (was != base.entries.end()) {
        synced.entries[item.path] = was->second;
      } else {
        synced.entries.erase(item.path);
      }
      if (done.status == ApplyStatus::kFailed || done.status == ApplyStatus::kSkippedLocalChange) {
        synced.complete = false;
      }
      if (done.status == ApplyStatus::kFailed) failed_paths.push_back(item.path);
      continue;
    }
    if (item.action == PullAction::kJoin) {
      synced.entries[item.path] = plan.merged.at(item.path);
      exact = exact && synced.entries[item.path] == remote.entries.at(item.path);
      continue;
    }
    // Applied: the stat cache follows the file.
    if (done.stat) {
      stat_put(item.path, StatCacheEntry{*done.stat, item.remote.chunks});
    } else {
      stat_remove(item.path);
    }
    const bool was_live = item.local.kind != EntryKind::kTombstone;
    if (item.remote.kind == EntryKind::kTombstone) {
      if (was_live) deleted.push_back(item.path);
    } else {
      (was_live ? modified : added).push_back(item.path);
    }
  }
  for (const std::string& dir : p.damaged_dirs) {
    report.items.push_back({dir, "read_tree", "failed", p.first_damage});
    failed_paths.push_back(dir);
    synced.complete = false;
    exact = false;
  }
  if (exact) {
    synced.tree_ids = remote.tree_ids;
  } else {
    HX_ASSIGN_OR_RETURN(BuiltTrees rebuilt, BuildTrees(synced.entries, TreeIdFn(s.ctx)));
    synced.tree_ids = rebuilt.tree_ids;
  }
  synced.added = learned;
  synced.snapshot_id = head.snapshot_id;
  synced.head_seq = head.seq;
  HX_RETURN_IF_ERROR(CommitSyncedState(s, base, synced, kMetaLastPullMs, options.now_ms));
  HX_RETURN_IF_ERROR(UpdateOwnManifest(s, head.seq, std::nullopt, options.now_ms));

  report.changes = MakeChangeSummary(added, modified, deleted);
  report.objects_fetched = fetcher.stats().objects;
  report.bytes_fetched = fetcher.stats().bytes;
  report.outcome = failed_paths.empty() ? "applied" : "partial";
  SaveReport(s, report, options.now_ms);
  std::map<std::string, std::uint64_t> counts = {
      {"pull_snapshots_imported", report.snapshots_read},
      {"pull_trees_imported", report.trees_loaded},
      {"pull_objects_imported", report.objects_fetched}};
  for (const PullItem& item : report.items) {
    std::string name = "pull_items_" + item.status;
    if (item.error) name += "_" + std::string(ToString(item.error->category));
    ++counts[name];
  }
  AddCounters(*s.index, counts);
  if (!failed_paths.empty()) {
    const Error& first = *std::find_if(report.items.begin(), report.items.end(),
                                       [](const PullItem& i) { return i.error.has_value(); })
                              ->error;
    report.error = Error(SyncCode::kApplyFailed, first.category,
                         std::to_string(failed_paths.size()) +
                             " item(s) could not be applied (first: " + failed_paths.front() +
                             ": " + first.message + "); the others were. Pull again later")
                       .With("failed", std::to_string(failed_paths.size()))
                       .With("first_path", failed_paths.front());
  }
  return report;
}

Result<PullReport> SyncPull(const std::filesystem::path& vault, const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(Session session, OpenSession(vault, options));
  Result<PullReport> result = PullInSession(session, options);
  if (!result.ok()) {
    RecordOutcome(*session.index, Status(result.error()));
  } else {
    RecordOutcome(*session.index, result->error ? Status(*result->error) : OkStatus());
  }
  return result;
}

}  // namespace hx
