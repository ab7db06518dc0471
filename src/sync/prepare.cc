// PreparePull: the read-only half of a pull (see prepare.h). Imports the
// snapshot bodies it has not seen (they index the objects their pushes
// added), loads only the trees whose ids differ from the base, scans the
// folder, and plans per path with version vectors.
#include "sync/prepare.h"

#include <iterator>
#include <map>
#include <set>

#include "meta/prune_record.h"
#include "repo/object_codec.h"
#include "sync/apply.h"
#include "sync/local_changes_stream.h"

namespace hx {
namespace {

struct ImportedHistory {
  Snapshot at_head;
  std::vector<ObjectLocation> learned;
  // Whether the walk met the base snapshot (the head descends from it).
  bool reached_base = false;
  // Every snapshot read or passed, with its seq (for a full walk: the
  // head's whole history).
  std::vector<ImportedSnapshot> visited;
};

// Reads the snapshot bodies between the base and the head (newest first,
// following parents until an imported one), so their object locations are
// known, and tells whether the base was among them. With `whole_history`
// every ancestor is read, imported or not: what the head's own history
// locates, and nothing else. The head's body is always read.
Result<ImportedHistory> ImportSnapshots(Session& s, const Head& head,
                                        const std::optional<std::string>& base_snapshot,
                                        bool whole_history, std::uint64_t& read) {
  ImportedHistory out;
  std::optional<Snapshot> at_head;
  std::vector<std::string> todo = {head.snapshot_id};
  std::set<std::string> visited;
  PrunedSnapshots pruned_snapshots(*s.store, s.ctx);
  while (!todo.empty()) {
    const std::string id = todo.back();
    todo.pop_back();
    if (!visited.insert(id).second) continue;
    if (base_snapshot && id == *base_snapshot) out.reached_base = true;
    HX_ASSIGN_OR_RETURN(const bool imported, s.index->IsSnapshotImported(id));
    if (imported && at_head && !whole_history) continue;
    // A forgotten snapshot a prune deleted on purpose ends this branch: the
    // head's history relocates what it located (prune_record.h).
    HX_ASSIGN_OR_RETURN(std::optional<Snapshot> body,
                        ReadHistoryStep(s, pruned_snapshots, head.snapshot_id, id,
                                        /*is_head=*/!at_head, visited.size()));
    if (!body) continue;
    Snapshot snapshot = std::move(*body);
    ++read;
    if (snapshot.key_fingerprint != s.config.key_fingerprint) {
      return Error(SyncCode::kStateFailed, Category::kCorrupt,
                   "snapshot " + id + " was made with another key; refusing to apply it")
          .With("snapshot", id);
    }
    out.visited.push_back({id, snapshot.seq});
    // Moved, not copied: the fetcher keeps the one copy of the locations.
    if (out.learned.empty()) {
      out.learned = std::move(snapshot.added);
    } else {
      out.learned.insert(out.learned.end(), std::make_move_iterator(snapshot.added.begin()),
                         std::make_move_iterator(snapshot.added.end()));
    }
    snapshot.added = {};
    if (!imported || whole_history) {
      for (const std::string& parent : snapshot.parents) todo.push_back(parent);
    }
    if (!at_head) at_head = std::move(snapshot);
  }
  out.at_head = std::move(*at_head);
  return out;
}

// The local side, compared with the base directory by directory
// (local_changes_stream.h), once the remote state is known: the scan's view
// (what the applier re-checks, sync/apply.h) is kept only of the paths the
// plan can touch. A plan item needs the local and remote versions to
// differ, so the base and one of them must differ too: the paths where the
// remote state differs from the base, and those changed here. Nothing of
// the folder is held whole: at 100,000 files, the base, the remote state
// and the change (not the scan and the stat cache beside them).
Status CompareLocal(Session& s, PreparedPull& p) {
  const EntryMap& base = p.base.entries;
  const EntryMap& remote = p.remote.entries;
  const KeepScannedFn remote_differs = [&](const std::string& path) {
    const auto b = base.find(path);
    const auto r = remote.find(path);
    const bool in_base = b != base.end();
    if (in_base != (r != remote.end())) return true;
    return in_base && !(b->second == r->second);
  };
  HX_ASSIGN_OR_RETURN(StreamedLocalChanges local,
                      StreamLocalChanges(*s.index, s.local.vault(), s.scan_options(), *s.chunker,
                                         VaultChunkIds(s.ctx), s.node_id(),
                                         /*with_entries=*/true, remote_differs));
  p.scanned_live_files = local.stats.files + local.stats.symlinks;
  p.local.added = std::move(local.changes.added);
  p.local.modified = std::move(local.changes.modified);
  p.local.deleted = std::move(local.changes.deleted);
  if (!p.local.empty()) {
    // The state this device would publish: the base with the changes over
    // it (each changed entry moved, not copied).
    p.local.state = base;
    while (!local.changes.state.empty()) {
      auto node = local.changes.state.extract(local.changes.state.begin());
      p.local.state.insert_or_assign(std::move(node.key()), std::move(node.mapped()));
    }
  }
  p.scan.entries = std::move(local.kept_scan);
  p.scan.stat_changes = std::move(local.stat_changes);
  p.scan.skipped = std::move(local.skipped);
  p.scan.errors = std::move(local.errors);
  p.scan.stats = local.stats;
  p.scan.ignore_rules = std::move(local.ignore_rules);
  p.base.stats = std::move(local.kept_stats);
  return OkStatus();
}

// PreparedPull::kept_versions (see prepare.h) of a plan of `local` against
// `remote`: every path (`only` null) or only those listed.
EntryMap KeptVersions(const EntryMap& local, const EntryMap& remote, const PullPlan& plan,
                      const std::set<std::string>* only) {
  std::set<std::string_view> planned;
  for (const PlannedItem& item : plan.items) planned.insert(item.path);
  EntryMap kept;
  for (const auto& [path, mine] : local) {
    if (only != nullptr && only->count(path) == 0) continue;
    if (planned.count(path) != 0) continue;
    // Beneath a planned path (a directory the head replaced by a file, a
    // conflict the policy resolves) the resolution decides, and the base
    // takes the head's entries there: a kept version would sit beneath them.
    bool beneath_planned = false;
    for (std::size_t slash = path.find('/'); slash != std::string::npos && !beneath_planned;
         slash = path.find('/', slash + 1)) {
      beneath_planned = planned.count(std::string_view(path).substr(0, slash)) != 0;
    }
    if (beneath_planned) continue;
    auto theirs = remote.find(path);
    if (theirs != remote.end() && mine == theirs->second) continue;
    if (theirs != remote.end() && mine.SameContent(theirs->second) &&
        mine.vv.Compare(theirs->second.vv) != VvOrder::kAfter) {
      continue;  // a join: the store's entry
    }
    kept.emplace(path, mine);
  }
  return kept;
}

}  // namespace

Result<PreparedPull> PreparePull(Session& s, const SyncOptions& /*options*/, PullReport& report) {
  PreparedPull p;
  report.target = s.target.ToUri();
  // The stat cache stays in the index: CompareLocal reads it a directory
  // at a time.
  HX_ASSIGN_OR_RETURN(p.base, LoadBaseState(*s.index, /*with_stat_cache=*/false));
  HX_ASSIGN_OR_RETURN(p.head_state, ReadHeadForBase(s, p.base));
  p.fetcher = std::make_unique<ObjectFetcher>(*s.store, s.ctx, *s.index);
  if (!p.head_state.head) {
    p.up_to_date = true;  // an empty vault
    return p;
  }
  p.head = *p.head_state.head;
  const Head& head = *p.head;
  HX_RETURN_IF_ERROR(CheckHeadNotReplayed(head, p.base.max_head_seq));
  report.head_seq = head.seq;
  report.snapshot_id = head.snapshot_id;
  if (HeadIsBase(p.head_state, p.base) && p.base.complete) {
    p.up_to_date = true;
    return p;
  }

  // The remote state: new snapshot bodies, then only the trees that differ.
  ObjectFetcher& fetcher = *p.fetcher;
  HX_ASSIGN_OR_RETURN(ImportedHistory history,
                      ImportSnapshots(s, head, p.base.snapshot_id, /*whole_history=*/false,
                                      report.snapshots_read));
  if (p.base.snapshot_id && !history.reached_base) {
    // The head does not descend from what this device synced (the store
    // was restored from a backup and another device built on it): merge it
    // like a concurrent change. The index may locate objects only the
    // abandoned snapshots recorded; rebuild it from the head's whole
    // history so the next push uploads again whatever that history lacks.
    // Rare, and it costs one read per snapshot of the history.
    HX_ASSIGN_OR_RETURN(history, ImportSnapshots(s, head, p.base.snapshot_id,
                                                 /*whole_history=*/true, report.snapshots_read));
    p.diverged = true;
    p.history = std::move(history.visited);
  }
  fetcher.AddLocations(std::move(history.learned));
  Snapshot snapshot = std::move(history.at_head);
  // A damaged subtree fails only the paths beneath it: the loader records it
  // and returns an empty listing, and those paths keep their base state.
  std::set<ObjectId> damaged;
  // A decoded tree gives every entry its own vector; a vault holds few
  // distinct ones, so each is kept once and shared (at 100,000 entries the
  // copies cost ~14 MB).
  std::map<std::map<std::string, std::uint64_t>, VersionVector> vectors;
  // The subtrees of each loaded tree that the base does not have are read
  // ahead (sync/fetcher.h) while it is flattened: on a distant store, their
  // round trips overlap instead of adding up one tree at a time.
  std::set<ObjectId> base_trees;
  for (const auto& [dir, id] : p.base.tree_ids) base_trees.insert(id);
  fetcher.ReadAhead(kPullReadAheadRequests, kPullReadAheadWindowBytes);
  TreeLoader load = [&](const ObjectId& id) -> Result<Tree> {
    Result<std::vector<std::uint8_t>> bytes = fetcher.Fetch(ObjectKind::kTree, id);
    Result<Tree> tree = bytes.ok() ? DecodeTree(std::string_view(
                                         reinterpret_cast<const char*>(bytes->data()),
                                         bytes->size()))
                                   : Result<Tree>(bytes.error());
    if (tree.ok()) {
      std::vector<ObjectId> subtrees;
      for (const TreeEntry& child : tree->entries) {
        if (child.subtree && base_trees.count(*child.subtree) == 0) {
          subtrees.push_back(*child.subtree);
        }
      }
      (void)fetcher.Prefetch(subtrees);  // advisory: a Fetch reports its own failure
      for (TreeEntry& child : tree->entries) {
        auto shared = vectors.find(child.entry.vv.counters());
        if (shared == vectors.end()) {
          vectors.emplace(child.entry.vv.counters(), child.entry.vv);
        } else {
          child.entry.vv = shared->second;
        }
      }
      return tree;
    }
    const Category c = tree.error().category;
    if (id == snapshot.root || (c != Category::kCorrupt && c != Category::kHashMismatch &&
                                c != Category::kNotFound)) {
      Error e = std::move(tree).error();
      e.code = SyncCode::kStateFailed;  // nothing can be applied without it
      return e;
    }
    damaged.insert(id);
    if (!p.first_damage) p.first_damage = tree.error();
    return Tree{};
  };
  HX_ASSIGN_OR_RETURN(p.remote,
                      FlattenTreesDiff(snapshot.root, load, p.base.entries, p.base.tree_ids));
  // The walk is done: what it read ahead and did not load is not held
  // through the rest of the pull (the apply starts its own read-ahead).
  fetcher.EndReadAhead();
  for (const auto& [dir, id] : p.remote.tree_ids) {
    if (damaged.count(id) != 0) p.damaged_dirs.push_back(dir);
  }
  for (const std::string& dir : p.damaged_dirs) {
    // Forget what the damaged listing hid and keep the base beneath it.
    const std::string prefix = dir + "/";
    for (auto it = p.remote.entries.lower_bound(prefix);
         it != p.remote.entries.end() && it->first.starts_with(prefix);) {
      it = p.remote.entries.erase(it);
    }
    for (auto it = p.base.entries.lower_bound(prefix);
         it != p.base.entries.end() && it->first.starts_with(prefix); ++it) {
      p.remote.entries.insert(*it);
    }
    auto was = p.base.entries.find(dir);
    if (was != p.base.entries.end()) p.remote.entries[dir] = was->second;
  }
  report.trees_loaded = p.remote.trees_loaded;
  p.snapshot = std::move(snapshot);

  HX_RETURN_IF_ERROR(CompareLocal(s, p));
  p.plan = PlanPull(p.LocalState(), p.remote.entries);
  if (p.diverged) {
    p.kept_versions = KeptVersions(p.LocalState(), p.remote.entries, p.plan, nullptr);
  } else {
    HX_ASSIGN_OR_RETURN(const std::vector<std::string> listed, LoadRepublish(*s.index));
    if (!listed.empty()) {
      const std::set<std::string> only(listed.begin(), listed.end());
      p.kept_versions = KeptVersions(p.LocalState(), p.remote.entries, p.plan, &only);
    }
  }
  return p;
}

}  // namespace hx
