// hx sync push: publish this device's changes.
//
// Order of work, and why:
//  0. with a merge policy (--auto-merge or the vault's default) and a store
//     that moved on: merge first, as a pull with that policy would;
//  1. an unchanged folder is recognised by its scan baseline
//     (local_changes.h) without loading the base; otherwise
//     scan (hashing only changed files); then read the new chunks back in
//     path order, seal them on worker threads and pack them in that order,
//     so the same changes give the same packs (the scan's threads finish in
//     any order). A first push does the same while it scans
//     (first_push.h): the same packs, uploaded sooner. Uploaded packs are
//     immutable and named by their hash, so a
//     push that fails after this point leaves only unreferenced blobs; each
//     is recorded in the index as unpublished as soon as it is stored, and
//     the next push reuses what it needs of them once it has seen them on
//     the store (uploader.h), uploading only what is missing;
//  2. the mass-delete guard, before anything is published;
//  3. trees (Merkle, only new ones uploaded), then under the write lock:
//     re-read the head (the divergence check: a head that is not this
//     device's base, including one that does not descend from it, or a
//     lost head.json, publishes nothing), write the snapshot, move the
//     head (compare-and-swap), update this device's manifest, release;
//  4. only then the local index: a crash between 3 and 4 is recognised on
//     the next run (the head is our own snapshot of the same tree).
#include <algorithm>
#include <set>

#include "meta/conflict.h"
#include "meta/head.h"
#include "meta/lock.h"
#include "meta/manifest.h"
#include "meta/snapshot.h"
#include "repo/object_codec.h"
#include "scan/scanner.h"
#include "sync/engine.h"
#include "sync/first_push.h"
#include "sync/governance.h"
#include "sync/hold.h"
#include "sync/internal.h"
#include "sync/local_changes.h"
#include "sync/mass_delete.h"
#include "sync/planner.h"
#include "sync/prepare.h"
#include "sync/prune_guard.h"
#include "sync/session.h"
#include "sync/observe.h"
#include "sync/uploader.h"

namespace hx {
namespace {

SnapshotSummary Summarize(const LocalChanges& changes) {
  SnapshotSummary s;
  s.added = changes.added.size();
  s.modified = changes.modified.size();
  s.deleted = changes.deleted.size();
  for (const auto& [path, entry] : changes.state) {
    if (entry.kind == EntryKind::kFile) {
      ++s.files;
      s.bytes += entry.size;
    }
  }
  return s;
}

// Nothing to publish: one read of the head tells up to date or behind.
Status ReportNothingToPublish(Session& s, const BaseState& base, PushReport& report) {
  HX_ASSIGN_OR_RETURN(HeadState head, ReadHeadForBase(s, base));
  report.outcome = HeadIsBase(head, base) && base.complete ? "up_to_date" : "behind";
  if (head.head) {
    report.head_seq = head.head->seq;
    report.snapshot_id = head.head->snapshot_id;
  }
  return OkStatus();
}

// Whether `head` is a prune's relocation of the base (history/prune.h): its
// only parent is the base, its root the base's, and it changes nothing.
Result<bool> IsRelocationOf(Session& s, const Snapshot& head, const BaseState& base) {
  if (!base.snapshot_id || !base.complete || head.parents.size() != 1 ||
      head.parents[0] != *base.snapshot_id || head.summary.added != 0 ||
      head.summary.modified != 0 || head.summary.deleted != 0) {
    return false;
  }
  // A base that does not read is no relocation's parent: the divergence
  // path (a pull first) handles it as before.
  Result<Snapshot> at_base = ReadSnapshot(*s.store, s.ctx, *base.snapshot_id);
  if (!at_base.ok()) {
    const Category c = at_base.error().category;
    if (c == Category::kCorrupt || c == Category::kNotFound || c == Category::kHashMismatch ||
        c == Category::kUnsupported) {
      return false;
    }
    return std::move(at_base).error();
  }
  return at_base->root == head.root;
}

// What the index learns after a push: its own uploads, and the locations an
// adopted relocation lists (the newest copies, which readers take).
std::vector<ObjectLocation> WithRelocated(std::vector<ObjectLocation> added,
                                          std::vector<ObjectLocation> relocated) {
  if (relocated.empty()) return added;  // (no set of every id: ~6 MB at 100,000)
  std::set<ObjectId> own;
  for (const ObjectLocation& loc : added) own.insert(loc.id);
  for (ObjectLocation& loc : relocated) {
    if (own.count(loc.id) == 0) added.push_back(std::move(loc));
  }
  return added;
}

Result<PushReport> Push(Session& s, const SyncOptions& options) {
  PushReport report;
  report.target = s.target.ToUri();
  // Only the base's meta at first: an unchanged folder needs no more.
  HX_ASSIGN_OR_RETURN(BaseState base, LoadBaseMeta(*s.index));

  // 0. With a merge policy, a store that moved on is merged first, exactly
  // as a pull with that policy would; then this device publishes on top.
  const MergePolicy policy = options.auto_merge.value_or(s.local.config().default_merge_policy);
  report.policy = std::string(MergePolicyName(policy));
  if (policy != MergePolicy::kNone) {
    HX_ASSIGN_OR_RETURN(HeadState before, ReadHeadForBase(s, base));
    if (!HeadIsBase(before, base) || !base.complete) {
      HX_ASSIGN_OR_RETURN(PullReport merged, PullInSession(s, options));
      if (merged.error) return *merged.error;
      report.merged = std::move(merged);
      HX_ASSIGN_OR_RETURN(base, LoadBaseMeta(*s.index));
    }
  }

  // Versions kept from snapshots a restored head abandoned are published
  // even when the folder did not change (prepare.h kept_versions).
  HX_ASSIGN_OR_RETURN(const std::vector<std::string> republish, LoadRepublish(*s.index));

  // 1. The folder exactly as the baseline saw it: no local change, and no
  // base, stat cache or scan to load.
  // A scoped push (the agent's batch, SyncOptions::scope) looks only at
  // its paths: no walk of the whole folder, not even the baseline's.
  const bool scoped = options.scope && ScopeIsUsable(*options.scope);
  if (republish.empty() && !scoped && UnchangedSinceBaseline(s)) {
    report.changes = MakeChangeSummary({}, {}, {});
    HX_RETURN_IF_ERROR(ReportNothingToPublish(s, base, report));
    return report;
  }

  // Else the full comparison. Scan: ids of changed files' chunks. A walk
  // of the whole folder needs only the stat cache: the base's entries and
  // trees are loaded after it and the stat cache freed before them, so the
  // three are never held at once with the scan (at 100,000 files the peak
  // of the agent's start is ~30 MB lower). A scoped scan needs the base.
  std::optional<ScanResult> scan_result;
  std::optional<ObjectUploader> uploader;
  const auto make_uploader = [&] {
    UploaderOptions upload_options = UploaderOptions::ReadingThrough(s.env);
    upload_options.checkpoint = options.checkpoint;
    uploader.emplace(*s.store, s.ctx, *s.index, std::move(upload_options));
  };
  // What the uploads of an overlapped first push put during the scan (the
  // upload phase's progress starts there).
  std::uint64_t bytes_put_while_scanning = 0;
  if (scoped) {
    HX_ASSIGN_OR_RETURN(base, LoadBaseState(*s.index));
    options.progress.StartPhase(obs::Phase::kScan);
    HX_ASSIGN_OR_RETURN(scan_result, ScanScopedForPush(s, base, *options.scope));
  } else {
    HX_ASSIGN_OR_RETURN(base.stats, s.index->LoadStatCache());
    const bool overlap = StartsOverlappedFirstPush(s, base, !republish.empty());
    if (overlap) make_uploader();
    options.progress.StartPhase(obs::Phase::kScan);
    if (overlap) {
      HX_ASSIGN_OR_RETURN(scan_result, ScanWhileUploading(s, base, *uploader));
      bytes_put_while_scanning = options.progress.Current().bytes_done;
    } else {
      HX_ASSIGN_OR_RETURN(scan_result, ScanFolderForBaseline(s, base));
    }
    base.stats = StatCache();
    // What the scan read goes to the index now, not with the push's commit:
    // a scan that hashed every file (a start within the stat cache's racy
    // window, a new device) holds one new stat cache entry per file, which
    // would otherwise be held with the base and the comparison (~19 MB at
    // 100,000 files). The stat cache describes the folder's files, not the
    // base, so it is true whether or not this push publishes.
    HX_RETURN_IF_ERROR(SaveStatCacheOfScan(*s.index, *scan_result));
    HX_ASSIGN_OR_RETURN(base, LoadBaseState(*s.index, /*with_stat_cache=*/false));
  }
  ScanResult scan = std::move(*scan_result);
  scan_result.reset();
  options.Checkpoint("push.after_scan");
  report.files_hashed = scan.stats.files_hashed;
  report.bytes_hashed = scan.stats.bytes_hashed;
  // The scan hashes changed files as it walks: what it hashed.
  options.progress.ReportPhaseDone(obs::Phase::kHash, report.files_hashed, report.bytes_hashed);
  report.scan_issues = DescribeIssues(scan);

  LocalChanges changes = TakeLocalChangesOfScan(base, scan, s.node_id());
  // The agent's held conflicts (sync/hold.h): this device's versions there
  // stay unpublished; the store's are published as they are.
  HeldConflicts held;
  if (options.hold_conflicts && !base.complete) {
    HX_ASSIGN_OR_RETURN(held, LoadHeldConflicts(*s.index));
  }
  EntryMap held_base;
  if (!held.empty()) {
    for (auto* list : {&changes.added, &changes.modified, &changes.deleted}) {
      std::erase_if(*list, [&](const std::string& path) { return IsHeld(held.paths, path); });
    }
    held_base = HeldEntries(held.paths, base.entries);
    if (!changes.empty()) ReplaceHeld(held.paths, held.remote, changes.state);
  }
  report.changes = MakeChangeSummary(changes.added, changes.modified, changes.deleted);

  if (changes.empty() && republish.empty()) {
    // Nothing to publish (and nothing to guard).
    HX_RETURN_IF_ERROR(ReportNothingToPublish(s, base, report));
    HX_RETURN_IF_ERROR(SaveStatCache(*s.index, scan.stat_changes));
    // (A folder with held changes is not the base: no baseline.)
    if (scan.baseline && held.empty()) SaveBaseline(s, *scan.baseline);
    return report;
  }

  // Only kept versions to publish: the state is the base.
  if (changes.empty()) changes.state = base.entries;

  // 2. The mass-delete guard.
  HX_RETURN_IF_ERROR(CheckMassDelete({.live_before = CountLiveFiles(base.entries),
                                      .deleting = CountDeletedFiles(base.entries, changes.deleted),
                                      .live_after = CountLiveFiles(changes.state),
                                      .max_share_pct = s.local.config().mass_delete_max_share_pct,
                                      .confirmed = options.allow_mass_delete,
                                      .operation = "push"}));

  // Past the guard, the base's entries and the stat cache are not needed
  // (the state to publish holds every entry, taken from the scan; the index
  // is told which paths changed: the change lists, moved into the commit at
  // the end, not copied): their memory goes to the packing and the trees
  // that follow instead of adding to the peak.
  // The kept versions to publish as they are (their base entries): packed
  // like changed files (the index, rebuilt from the head's history, says
  // which of their chunks the store still lacks), their directories rebuilt.
  std::vector<std::string> kept_paths;
  for (const std::string& path : republish) {
    // (Each change list is in path order: Compare walks the maps.)
    bool changed = false;
    for (const auto* list : {&changes.added, &changes.modified, &changes.deleted}) {
      changed = changed || std::binary_search(list->begin(), list->end(), path);
    }
    if (!changed && changes.state.count(path) != 0) kept_paths.push_back(path);
  }
  base.entries = EntryMap();
  base.stats = StatCache();

  // (An overlapped first push made the next two checks before its scan.)
  if (!uploader) {
    // Only a writer publishes (one read of the membership record, made only
    // when there is something to publish).
    HX_RETURN_IF_ERROR(EnsureMayPush(s));
    // A prune since this device last looked: forget what its condemned and
    // deleted packs hold, so that it is packed again if needed
    // (sync/prune_guard.h).
    if (Result<StoredPruneRecord> applied = ApplyPruneRecord(s); !applied.ok()) {
      return std::move(applied).error();
    }
    make_uploader();
  }

  // 3. New chunks of changed files (in path order), then new trees.
  // Each pack is recorded as unpublished as soon as the store holds it, so
  // that a rerun after a crash or a lost connection uploads only what is
  // missing (uploader.h, "Resuming").
  // Pointers into the state (no path copied), in path order.
  std::vector<const EntryMap::value_type*> changed_files;
  changed_files.reserve(changes.added.size() + changes.modified.size() + kept_paths.size());
  for (const auto* list : {&changes.added, &changes.modified, &kept_paths}) {
    for (const std::string& path : *list) {
      const auto it = changes.state.find(path);
      if (it == changes.state.end()) {
        return Error(SyncCode::kInternal, Category::kInternal,
                     "push: a changed path is not in the state to publish: " + path);
      }
      if (it->second.kind == EntryKind::kFile) changed_files.push_back(&*it);
    }
  }
  std::sort(changed_files.begin(), changed_files.end(),
            [](const EntryMap::value_type* a, const EntryMap::value_type* b) {
              return a->first < b->first;
            });
  if (options.progress.enabled()) {
    std::uint64_t bytes = 0;
    for (const EntryMap::value_type* file : changed_files) bytes += file->second.size;
    // Bytes done are what goes up (packs: compressed and sealed).
    options.progress.StartPhase(obs::Phase::kUpload, changed_files.size(), bytes);
    options.progress.Add(0, bytes_put_while_scanning);
  }
  // (After an overlapped scan the chunks of a prefix of these files are
  // packed already: only the rest is read.)
  HX_RETURN_IF_ERROR(uploader->AddFileChunks(s.local.vault(), changed_files));
  const std::size_t files_changed = changed_files.size();
  changed_files = std::vector<const EntryMap::value_type*>();  // `= {}` keeps the capacity
  // Trees go to the uploader as they are built (not held all at once), and
  // only the directories on the paths of the changes are rebuilt: another
  // keeps its base tree id when the store has that tree.
  std::set<std::string, std::less<>> dirty_dirs = {""};
  for (const auto* list : {&changes.added, &changes.modified, &changes.deleted, &kept_paths}) {
    for (const std::string& path : *list) {
      for (std::size_t slash = path.find('/'); slash != std::string::npos;
           slash = path.find('/', slash + 1)) {
        dirty_dirs.insert(path.substr(0, slash));
      }
    }
  }
  // Held paths hold the store's entries, not the base's: rebuilt too.
  for (const EntryMap* held_entries : {&held.remote, &held_base}) {
    for (const auto& [path, entry] : *held_entries) {
      dirty_dirs.insert(path);
      for (std::size_t slash = path.find('/'); slash != std::string::npos;
           slash = path.find('/', slash + 1)) {
        dirty_dirs.insert(path.substr(0, slash));
      }
    }
  }
  BuildTreesOptions tree_options;
  tree_options.known = &base.tree_ids;
  tree_options.reuse = [&](std::string_view dir, const ObjectId& id) {
    if (dirty_dirs.count(dir) != 0) return false;
    Result<std::optional<ObjectLocation>> stored = s.index->FindObject(id);
    return stored.ok() && stored->has_value();
  };
  tree_options.sink = [&uploader](const ObjectId& id, std::string bytes) {
    return uploader->Add(
        ObjectKind::kTree, id,
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  };
  HX_ASSIGN_OR_RETURN(BuiltTrees trees,
                      BuildTrees(changes.state, TreeIdFn(s.ctx), tree_options));
  HX_RETURN_IF_ERROR(uploader->Flush());
  options.progress.SetDone(files_changed, options.progress.Current().bytes_done);
  options.Checkpoint("push.after_upload");
  const UploadStats up = uploader->stats();
  report.objects_uploaded = up.objects;
  report.blobs_uploaded = up.blobs;
  report.bytes_uploaded = up.bytes;

  HX_ASSIGN_OR_RETURN(WriteLock lock, WriteLock::Acquire(*s.store, s.node_id(), options.now_ms));
  options.Checkpoint("push.after_lock");
  // (Every early return below releases the lock: ~WriteLock.)
  HX_ASSIGN_OR_RETURN(HeadState head, ReadHeadForBase(s, base));
  if (head.head) HX_RETURN_IF_ERROR(CheckHeadNotReplayed(*head.head, base.max_head_seq));

  std::string snapshot_id;
  std::uint64_t seq = 0;
  // The parent of the snapshot to publish: the base, or a relocation a
  // prune published on top of it (below).
  std::optional<std::string> parent = base.snapshot_id;
  std::vector<ObjectLocation> relocated;
  bool adopt = false;
  // A base that a pull left incomplete (items it could not apply keep their
  // old entries) is not the head this device synced: publishing on it would
  // put those old entries back over the head's newer ones.
  // Held conflicts: the base is incomplete only there, and the state to
  // publish has the store's entries there (read when the pull held them, so
  // the head must still be that pull's).
  if (!HeadIsBase(head, base) || (head.head && !base.complete && held.empty())) {
    // The store moved on (ReadHeadForBase refused a lost head, so there is
    // one). Our own snapshot of this very tree means an earlier run of this
    // push published and then died before updating the index: finish its
    // bookkeeping instead of reporting a divergence.
    if (!head.head) {
      return Error(SyncCode::kInternal, Category::kInternal,
                   "push: no head, yet the base is not the empty vault");
    }
    HX_ASSIGN_OR_RETURN(Snapshot published, ReadSnapshot(*s.store, s.ctx, head.head->snapshot_id));
    // A prune's relocation (history/prune.h): the base's very files on top
    // of the base, only listing objects anew. Publishing on it loses
    // nothing, so it is adopted as the parent instead of being a divergence.
    HX_ASSIGN_OR_RETURN(adopt, IsRelocationOf(s, published, base));
    // A head that does not descend from the base is a divergence like any
    // other: the pull that follows merges it (prepare.h).
    if (!adopt && (published.author != s.node_id() || published.root != trees.root)) {
      HX_RETURN_IF_ERROR(lock.Release());
      return ReportPushDivergence(s, base, changes, *head.head, options.now_ms);
    }
    if (adopt) {
      parent = published.snapshot_id;
      relocated = std::move(published.added);
    } else {
      snapshot_id = published.snapshot_id;
      seq = published.seq;
    }
  }
  if (snapshot_id.empty()) {
    // No pack this snapshot relies on was deleted by a prune since the
    // push looked (prune_guard.h): else nothing is published and the push
    // runs again.
    if (Status kept = CheckPacksNotDeleted(s, uploader->relied_packs()); !kept.ok()) {
      HX_RETURN_IF_ERROR(lock.Release());
      return std::move(kept).error();
    }
    Snapshot snapshot;
    snapshot.created_ms = options.now_ms;
    snapshot.root = trees.root;
    snapshot.snapshot_id = SnapshotId(trees.root, options.now_ms);
    snapshot.vault_id = s.ctx.vault_id;
    if (parent) snapshot.parents.push_back(*parent);
    snapshot.author = s.node_id();
    snapshot.seq = head.head ? head.head->seq + 1 : 1;
    snapshot.key_fingerprint = s.config.key_fingerprint;
    snapshot.summary = Summarize(changes);
    // The uploader's list itself (at 100,000 new objects ~15 MB), not a
    // copy: the snapshot gives it back once written.
    snapshot.added = uploader->TakeAdded();
    Status written = WriteSnapshot(*s.store, s.ctx, snapshot);
    uploader->GiveBackAdded(std::move(snapshot.added));
    HX_RETURN_IF_ERROR(written);
    options.Checkpoint("push.after_snapshot");
    auto moved = PublishHead(*s.store, s.ctx, head,
                             Head{s.ctx.vault_id, snapshot.seq, snapshot.snapshot_id});
    if (!moved.ok()) return std::move(moved).error();
    options.Checkpoint("push.after_head");
    snapshot_id = snapshot.snapshot_id;
    seq = snapshot.seq;
  }
  HX_RETURN_IF_ERROR(UpdateOwnManifest(s, seq, snapshot_id, options.now_ms));
  HX_RETURN_IF_ERROR(lock.Release());
  options.Checkpoint("push.after_release");

  // 4. The local index now describes the published state — except at held
  // paths, whose base keeps its old entries (not in changed_paths), so the
  // base stays incomplete and its trees are those of that state.
  // The paths whose base entries change: the change lists themselves.
  std::vector<std::string> changed_paths = std::move(changes.added);
  for (auto* list : {&changes.modified, &changes.deleted, &kept_paths}) {
    changed_paths.insert(changed_paths.end(), std::make_move_iterator(list->begin()),
                         std::make_move_iterator(list->end()));
    *list = {};
  }
  TreeIdMap base_tree_ids = trees.tree_ids;
  if (!held.empty()) {
    EntryMap base_state = changes.state;
    ReplaceHeld(held.paths, held_base, base_state);
    HX_ASSIGN_OR_RETURN(BuiltTrees base_trees, BuildTrees(base_state, TreeIdFn(s.ctx)));
    base_tree_ids = std::move(base_trees.tree_ids);
  }
  HX_RETURN_IF_ERROR(CommitSyncedState(s, base,
                                       SyncedState{.entries = std::move(changes.state),
                                                   .tree_ids = std::move(base_tree_ids),
                                                   .stat_changes = scan.stat_changes,
                                                   .added = WithRelocated(uploader->TakeAdded(),
                                                                          std::move(relocated)),
                                                   .snapshot_id = snapshot_id,
                                                   .head_seq = seq,
                                                   .complete = held.empty(),
                                                   .changed_paths = std::move(changed_paths),
                                                   .history = std::nullopt,
                                                   .republish = {}},
                                       kMetaLastPushMs, options.now_ms));
  // What earlier, interrupted pushes uploaded is now published or no longer
  // needed (best effort: a pack left recorded is checked on the store
  // before any reuse).
  if (Result<Index::Transaction> txn = s.index->Begin(); txn.ok()) {
    if (txn->ClearUnpublished().ok()) (void)txn->Commit();
  }
  // The committed base is this scan's state: the scan has no changes
  // against it, so its baseline holds for the new base token.
  if (scan.baseline && held.empty()) SaveBaseline(s, *scan.baseline);
  AddCounters(*s.index, {{"push_objects_uploaded", up.objects},
                         {"push_objects_skipped_known", up.known},
                         {"push_blobs_uploaded", up.blobs},
                         {"push_objects_resumed", up.resumed},
                         {"push_bytes_resumed", up.resumed_bytes},
                         {"push_unpublished_packs_lost", up.packs_lost},
                         {"push_files_hashed", report.files_hashed}});
  report.outcome = "published";
  report.head_seq = seq;
  report.snapshot_id = snapshot_id;
  return report;
}

}  // namespace

Result<PushReport> SyncPush(const std::filesystem::path& vault, const SyncOptions& options) {
  OperationObserver observer("push", options);
  Result<Session> session = OpenSession(vault, options);
  if (!session.ok()) return observer.Finish(nullptr, Result<PushReport>(session.error()));
  Result<PushReport> result = Push(*session, options);
  // A prune deleted a pack the push relied on while it ran: the pack's
  // objects are forgotten, and the push runs again (prune_guard.h). Twice
  // more at most: a prune needs the write lock the push just held.
  for (int attempt = 0; attempt < 2 && !result.ok() && IsPruneRetry(result.error()); ++attempt) {
    AddCounters(*session->index, {{"push_prune_retries", 1}});
    result = Push(*session, options);
  }
  RecordOutcome(*session->index, result.ok() ? OkStatus() : Status(result.error()));
  return observer.Finish(&*session, std::move(result));
}

}  // namespace hx
