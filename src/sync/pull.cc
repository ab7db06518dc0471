// hx sync pull: apply the store's changes to this device.
//
// A pull with nothing new reads vault.json (at open) and head.json, nothing
// else. A head that does not descend from this device's base (a store
// restored from a backup, then built on) is merged like a concurrent
// change (prepare.h), and the object index is rebuilt from that head's
// history so that the next push re-publishes what the head lacks. Otherwise it imports the snapshot bodies it has not seen (they index
// the objects their pushes added), loads only the trees whose ids differ
// from the base, scans the folder, and plans per path with version vectors.
// Concurrent changes to the same path stop the pull before anything is
// applied (KC_SYNC_CONFLICT and an artifact); otherwise every item is
// applied atomically, each re-checked against the scan, and the index then
// records what was applied. A crash in the middle leaves files that the next
// run recognises by content (they equal the remote version: a join).
#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "base/next_steps.h"
#include "json/canonical_json.h"
#include "meta/conflict.h"
#include "meta/head.h"
#include "meta/snapshot.h"
#include "repo/object_codec.h"
#include "scan/scanner.h"
#include "sync/apply.h"
#include "sync/archive.h"
#include "sync/engine.h"
#include "sync/fetch_journal.h"
#include "sync/fetcher.h"
#include "sync/hold.h"
#include "sync/internal.h"
#include "sync/mass_delete.h"
#include "sync/observe.h"
#include "sync/merge_preview.h"
#include "sync/planner.h"
#include "sync/prepare.h"
#include "sync/resolve.h"
#include "sync/session.h"
#include "versions/versions.h"

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
  // Never over the report of a pull in the same millisecond.
  Result<std::string> name = LocalState::FreeFileName(*s.env, s.local.reports_dir(),
                                                      "pull_" + std::to_string(now_ms), ".json");
  if (name.ok()) (void)LocalState::WriteFileAtomic(*s.env, s.local.reports_dir() / *name, *json);
}

// The index of the item at `path`. The items are sorted by path, one per
// path (planner.h, resolve.h): found by a binary search, not through a map
// of every path (7 MB at 100,000).
std::optional<std::size_t> ItemAt(const std::vector<PlannedItem>& items, const std::string& path) {
  const auto it = std::lower_bound(
      items.begin(), items.end(), path,
      [](const PlannedItem& i, const std::string& wanted) { return i.path < wanted; });
  if (it == items.end() || it->path != path) return std::nullopt;
  return static_cast<std::size_t>(it - items.begin());
}

std::string DescribeAction(const PlannedItem& item) {
  if (item.action == PullAction::kJoin) return "join";
  switch (item.remote->kind) {
    case EntryKind::kFile: return "write";
    case EntryKind::kSymlink: return "symlink";
    case EntryKind::kDir: return "mkdir";
    case EntryKind::kTombstone: return "delete";
  }
  return "write";
}

// The change lists of the report (MakeChangeSummary) as the items are
// recorded: every change counted, the paths kept only up to what a summary
// lists (kMaxReportedPaths of each kind), not one per applied item.
class ChangeLists {
 public:
  void Added(const std::string& path) { Keep(added_, path); }
  void Modified(const std::string& path) { Keep(modified_, path); }
  void Deleted(const std::string& path) { Keep(deleted_, path); }

  ChangeSummary Summary() const {
    ChangeSummary summary = MakeChangeSummary(added_.paths, modified_.paths, deleted_.paths);
    summary.added = added_.count;
    summary.modified = modified_.count;
    summary.deleted = deleted_.count;
    return summary;
  }

 private:
  struct List {
    std::uint64_t count = 0;
    std::vector<std::string> paths;  // the first kMaxReportedPaths
  };
  static void Keep(List& list, const std::string& path) {
    ++list.count;
    if (list.paths.size() < kMaxReportedPaths) list.paths.push_back(path);
  }

  List added_, modified_, deleted_;
};

// Builds the report's item list: at most kMaxReportedItems items, so a pull
// of 100,000 files does not keep (and write) a record of each. The items
// that were not applied are what the user acts on: they are kept first; the
// applied ones fill what room is left. Kept items stay in the plan's order,
// so a small pull lists every item as it always did.
class ReportedItems {
 public:
  // `not_applied` of the items that will be offered are not applied.
  explicit ReportedItems(std::size_t not_applied)
      : applied_room_(kMaxReportedItems - std::min(kMaxReportedItems, not_applied)) {}

  void Offer(PullReport& report, PullItem item) {
    const bool applied = item.status == "applied";
    ++counters_["pull_items_" + item.status +
                (item.error ? "_" + std::string(ToString(item.error->category)) : "")];
    const bool room = applied ? applied_kept_ < applied_room_
                              : report.items.size() - applied_kept_ < kMaxReportedItems;
    if (!room) {
      ++report.items_omitted;
      return;
    }
    if (applied) ++applied_kept_;
    report.items.push_back(std::move(item));
  }

  // "pull_items_<status>[_<category>]" over every item offered.
  const std::map<std::string, std::uint64_t>& counters() const { return counters_; }

 private:
  const std::size_t applied_room_;
  std::size_t applied_kept_ = 0;
  std::map<std::string, std::uint64_t> counters_;
};

Result<std::string> ReadDecisionsFile(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "cannot read the decisions file " + file.string() + ": " + ec.message())
        .With("path", file.string());
  }
  if (size > kMaxDecisionsFileBytes) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the decisions file " + file.string() + " is larger than " +
                            std::to_string(kMaxDecisionsFileBytes) + " bytes")
        .With("path", file.string());
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot read the decisions file " + file.string())
        .With("path", file.string());
  }
  return bytes;
}

// What happened to the losing version of one resolved path before the
// items were applied.
struct ResolutionOutcome {
  std::optional<std::string> archived;  // vault-relative
  // keep_both: where the losing local version is, when not at the name the
  // resolution chose (that name held other bytes: a variant of it).
  std::optional<std::string> renamed_to;
  std::optional<Error> error;
  // The local version could not be moved away: nothing may be written at
  // the path.
  bool blocks_path = false;
};

std::string PolicyName(MergePolicy policy) { return std::string(MergePolicyName(policy)); }

// The conflicts of a pull under `policy`: refused with an artifact (none,
// the conservative family, manual_per_item without decisions), or resolved.
Result<Resolution> DecideConflicts(Session& s, const PreparedPull& p, MergePolicy policy,
                                   const SyncOptions& options) {
  const std::vector<std::string> paths = p.plan.ConflictPaths();
  std::string named = paths.front();
  if (paths.size() > 1) named += " and " + std::to_string(paths.size() - 1) + " more";
  ConflictArtifact artifact = PullConflict(s, p.base, p.local, *p.head, p.plan, options.now_ms);
  artifact.policy = PolicyName(policy);
  if (policy == MergePolicy::kNone) {
    return ReportConflict(
        s, artifact,
        "both this device and the store changed " + named +
            "; nothing was applied. Resolve by hand, or pull with --auto-merge <policy>");
  }
  if (IsConservativeFamily(policy)) {
    // EnsureConservativeSafe refuses every overlap before conflicts arise.
    return Error(SyncCode::kInternal, Category::kInternal,
                 "a conflict passed the " + artifact.policy + " check");
  }
  std::optional<Decisions> decisions;
  if (policy == MergePolicy::kManualPerItem) {
    if (options.decisions_file.empty()) {
      artifact.decision = "awaiting_decisions";
      return ReportConflict(
          s, artifact,
          "manual_per_item needs a decision for " + named +
              "; nothing was applied. Write a decisions file naming \"local\", \"remote\" or "
              "\"both\" for each path and pull again with --decisions <file>");
    }
    std::filesystem::path file = options.decisions_file;
    if (file.is_relative() && !options.cwd.empty()) file = options.cwd / file;
    HX_ASSIGN_OR_RETURN(const std::string bytes, ReadDecisionsFile(file));
    Result<Decisions> parsed = ParseDecisions(bytes);
    if (!parsed.ok()) {
      Error e = std::move(parsed).error();
      e.message = file.string() + ": " + e.message;
      return e.With("path", file.string());
    }
    decisions = std::move(*parsed);
  }
  HX_ASSIGN_OR_RETURN(Resolution resolution,
                      ResolveConflicts(p.plan, p.LocalState(), p.remote.entries, policy,
                                       decisions ? &*decisions : nullptr));
  artifact.decision = "resolved";
  (void)ReportConflict(s, artifact, "resolved");  // the record; the pull goes on
  return resolution;
}

// The conservative family (seed 002): the merge preview of exactly this pull
// under `policy`, on the context governance builds (trust chain, other
// devices' path locks, roles); anything but "safe" refuses the whole pull
// with the seed's code and leaves an artifact naming policy and decision.
Status EnsureConservativeSafe(Session& s, const PreparedPull& p, MergePolicy policy,
                              const SyncOptions& options) {
  HX_ASSIGN_OR_RETURN(const SyncMergePreviewReportV2 preview,
                      PreviewMerge(s, p, policy, options.now_ms));
  Status safe = EnsureMergeSafe(preview);
  if (safe.ok()) return OkStatus();
  Error refused = safe.error();
  ConflictArtifact artifact = PullConflict(s, p.base, p.local, *p.head, p.plan, options.now_ms);
  artifact.policy = PolicyName(policy);
  artifact.decision = "unsafe";
  if (artifact.paths.empty()) {
    for (const auto* list : {&p.local.added, &p.local.modified, &p.local.deleted}) {
      artifact.paths.insert(artifact.paths.end(), list->begin(), list->end());
    }
  }
  if (artifact.paths.empty()) return refused;
  const Error recorded = ReportConflict(s, artifact, refused.message);
  for (const auto& [key, value] : recorded.details) {
    if (refused.details.count(key) == 0) refused.With(key, value);
  }
  refused.message += "; nothing was applied";
  return refused;
}

// The archive's reason id for the losing versions of this pull.
std::string ArchiveReason(const Head& head) { return "pull-" + head.snapshot_id.substr(0, 16); }

// The local history cache (versions/versions.h): the time under which this
// pull keeps what it replaces or deletes, unless the cache is off.
std::optional<std::int64_t> VersionsAt(const Session& s, const SyncOptions& options) {
  if (s.local.config().versions_max_bytes == 0) return std::nullopt;
  return options.now_ms;
}

// Thins and caps the cache once this pull kept a version there. A thinning
// that fails is a warning: the pull itself is done.
void ThinVersionsAfter(Session& s, const SyncOptions& options,
                       const std::vector<AppliedItem>& applied, PullReport& report) {
  if (!VersionsAt(s, options)) return;
  const std::string prefix = std::string(kVersionsRel) + "/";
  const bool kept = std::any_of(applied.begin(), applied.end(), [&](const AppliedItem& a) {
    return a.displaced_to && a.displaced_to->starts_with(prefix);
  });
  if (!kept) return;
  Result<VaultDir> vault = VaultDir::Open(*s.env, s.local.vault());
  Result<ThinReport> thinned =
      vault.ok() ? ThinVersions(*vault, VersionsPolicy{.max_bytes = s.local.config().versions_max_bytes},
                                options.now_ms)
                 : Result<ThinReport>(vault.error());
  if (!thinned.ok()) report.warnings.push_back(thinned.error());
}

// Moves the losing local version at `path` to its conflict copy name `to`
// (a move with nothing to apply at `path`) through the symlink-safe
// VaultDir; returns where it is now (displace.h's conflict_copy rule).
Result<std::string> KeepAsConflictCopy(Env& env, const std::filesystem::path& root,
                                       const std::string& path, const std::string& to) {
  HX_ASSIGN_OR_RETURN(VaultDir vault, VaultDir::Open(env, root));
  HX_ASSIGN_OR_RETURN(VaultSlot slot, vault.OpenParent(path, VaultArea::kContent, false));
  return MoveKeeping(vault, slot, path, Displacement{.to = to, .conflict_copy = true});
}

// The losing local versions that the applier keeps as it replaces them
// (apply.h: the path always holds the old or the new version): every move
// whose path has an item to apply. The others are moved by SetAsideLosers.
std::map<std::string, Displacement> DisplacedLosers(const Resolution& resolution,
                                                    const Head& head) {
  std::map<std::string, Displacement> out;
  for (const LocalMove& move : resolution.moves) {
    const std::optional<std::size_t> item = ItemAt(resolution.items, move.path);
    if (!item || resolution.items[*item].action != PullAction::kTakeRemote) continue;
    out[move.path] = move.to ? Displacement{.to = *move.to, .conflict_copy = true}
                             : Displacement{.to = ArchiveStateRel(ArchiveReason(head) + "-local",
                                                                  move.path),
                                            .free_variant = true};
  }
  return out;
}

// Moves each losing local version that is not `displaced` aside (to its
// conflict name or into the archive) and fetches each losing remote version
// into the archive. A moved path is removed from `scan`, so the applier
// expects it absent.
std::map<std::string, ResolutionOutcome> SetAsideLosers(
    Session& s, const ApplyInput& input, const Resolution& resolution, ObjectFetcher& fetcher,
    const Head& head, const std::map<std::string, Displacement>& displaced, ScanResult& scan) {
  const std::string reason = ArchiveReason(head);
  std::map<std::string, ResolutionOutcome> out;
  const auto relative = [&](const std::filesystem::path& where) {
    return where.lexically_relative(s.local.vault()).generic_string();
  };
  for (const LocalMove& move : resolution.moves) {
    if (displaced.count(move.path) != 0) continue;
    ResolutionOutcome& o = out[move.path];
    Result<bool> still = StillAsScanned(input, move.path);
    if (!still.ok() || !*still) {
      // A check that failed is reported as itself (naming the path).
      o.error = !still.ok() ? std::move(still).error()
                            : Error(SyncCode::kApplyFailed, Category::kConflict,
                                    move.path +
                                        " changed during the pull; it was left as it is. Pull "
                                        "again")
                                  .With("path", move.path);
      o.blocks_path = true;
      continue;
    }
    Status moved = OkStatus();
    if (move.to) {
      // Never over anything: a copy already holding this version is reused,
      // other bytes give the copy a variant name (sync/displace.h).
      Result<std::string> kept = KeepAsConflictCopy(*input.env, s.local.vault(), move.path,
                                                    *move.to);
      if (kept.ok()) {
        if (*kept != *move.to) o.renamed_to = *kept;
      } else {
        moved = kept.error();
      }
    } else {
      Result<std::filesystem::path> where =
          ArchiveVersion(s.local, move.path, reason + "-local", *input.env);
      if (where.ok()) {
        o.archived = relative(*where);
      } else {
        moved = where.error();
      }
    }
    if (!moved.ok()) {
      o.error = moved.error();
      o.blocks_path = true;
      continue;
    }
    scan.entries.erase(move.path);
  }
  for (const RemoteArchive& keep : resolution.archives) {
    ResolutionOutcome& o = out[keep.path];
    Result<std::filesystem::path> staged = StageRemoteVersion(input, keep.remote, fetcher);
    Result<std::filesystem::path> where =
        staged.ok() ? ArchiveFileAs(s.local, *staged, keep.path, reason + "-remote", *input.env)
                    : Result<std::filesystem::path>(staged.error());
    if (where.ok()) {
      o.archived = relative(*where);
    } else {
      o.error = where.error();
      if (staged.ok()) {
        std::error_code ec;
        std::filesystem::remove(*staged, ec);
      }
    }
  }
  return out;
}

}  // namespace

Result<PullReport> PullInSession(Session& s, const SyncOptions& options) {
  PullReport report;
  options.progress.StartPhase(obs::Phase::kScan);
  HX_ASSIGN_OR_RETURN(PreparedPull p, PreparePull(s, options, report));
  if (p.up_to_date) {
    // Nothing left to fetch: what an interrupted pull kept is not needed.
    FetchJournal::RemoveAll(*s.env, s.local.vault(), s.local.staging_dir());
    report.outcome = "up_to_date";
    return report;
  }
  const Head& head = *p.head;
  BaseState& base = p.base;
  FlattenedTrees& remote = p.remote;
  ScanResult& scan = p.scan;
  PullPlan& plan = p.plan;
  ObjectFetcher& fetcher = *p.fetcher;
  // Every object fetched from here on is kept in .hx/staging until this pull
  // has applied everything, and what an interrupted run of it kept is taken
  // from there: a rerun fetches only what is missing (fetch_journal.h).
  // Without a staging directory, the pull goes on without it.
  std::unique_ptr<FetchJournal> journal;
  {
    FetchJournalOptions journal_options;
    journal_options.checkpoint = options.checkpoint;
    Result<std::unique_ptr<FetchJournal>> opened = FetchJournal::Open(
        *s.env, s.local.vault(), s.local.staging_dir(), s.ctx, std::move(journal_options));
    if (opened.ok()) journal = std::move(opened).value();
  }
  fetcher.KeepFetchedIn(journal.get());

  const MergePolicy policy = options.auto_merge.value_or(s.local.config().default_merge_policy);
  report.policy = std::string(MergePolicyName(policy));
  std::vector<PlannedItem>* to_apply = &plan.items;
  Resolution resolution;
  if (IsConservativeFamily(policy)) {
    HX_RETURN_IF_ERROR(EnsureConservativeSafe(s, p, policy, options));
  }
  // The agent under policy none (sync/hold.h): the conflicting paths are
  // held, the rest is applied.
  std::vector<std::string> held;
  if (plan.HasConflicts() && policy == MergePolicy::kNone && options.hold_conflicts) {
    held = plan.ConflictPaths();
    std::erase_if(plan.items, [&](const PlannedItem& item) { return IsHeld(held, item.path); });
  }
  if (plan.HasConflicts()) {
    HX_ASSIGN_OR_RETURN(std::optional<Resolution> resolved,
                        DecideConflicts(s, p, policy, options));
    resolution = std::move(*resolved);
    to_apply = &resolution.items;
    // The resolution's items replace the plan's, which would point at
    // local entries dropped below.
    plan.items = std::vector<PlannedItem>();
  }

  // The mass-delete guard: how many live local files would the pull delete?
  std::vector<std::string> deleting;
  for (const PlannedItem& item : *to_apply) {
    if (item.action == PullAction::kTakeRemote && item.remote->kind != EntryKind::kFile &&
        item.remote->kind != EntryKind::kSymlink) {
      deleting.push_back(item.path);
    }
  }
  HX_RETURN_IF_ERROR(CheckMassDelete({.live_before = p.scanned_live_files,
                                      .deleting = CountDeletedFiles(scan.entries, deleting),
                                      .live_after = plan.live_files_after,
                                      .max_share_pct = s.local.config().mass_delete_max_share_pct,
                                      .confirmed = options.allow_mass_delete,
                                      .operation = "pull"}));
  deleting = {};

  // What is decided no longer needs the whole local state (a copy of the
  // vault's 100,000 entries): only the entries the items point at stay
  // (erasing the others leaves them where they are).
  std::erase_if(p.local.state, [&](const auto& entry) { return !ItemAt(*to_apply, entry.first); });

  // Progress: the files to fetch, then (from the first installed) apply.
  std::uint64_t files_to_write = 0;
  if (options.progress.enabled()) {
    std::uint64_t bytes_to_write = 0;
    for (const PlannedItem& item : *to_apply) {
      if (item.action == PullAction::kTakeRemote && item.remote->kind == EntryKind::kFile) {
        ++files_to_write;
        bytes_to_write += item.remote->size;
      }
    }
    options.progress.StartPhase(obs::Phase::kDownload, files_to_write, bytes_to_write);
  }
  const SyncOptions apply_options = WithApplyProgress(options, files_to_write);

  // The losing local versions the applier keeps as it replaces them
  // (displaced); the others, and the remote versions the policy keeps
  // aside, first.
  const std::map<std::string, Displacement> displaced = DisplacedLosers(resolution, head);
  LocalChunkStats local_chunks;
  const VaultContext& ctx = s.ctx;
  const ApplyInput apply_input{.vault = s.local.vault(),
                               .staging = s.local.staging_dir(),
                               .scan = &scan,
                               .cache = &base.stats,
                               .checkpoint = &apply_options,
                               .env = s.env,
                               .displace = &displaced,
                               .keep_versions_at_ms = VersionsAt(s, options),
                               // A chunk a local file holds is read from
                               // there, not fetched (sync/local_chunks.h).
                               .chunk_id =
                                   [&ctx](std::span<const std::uint8_t> bytes) {
                                     return ComputeObjectId(ctx, ObjectKind::kChunk, bytes);
                                   },
                               .base = &base.entries,
                               .local_chunk_stats = &local_chunks};
  std::map<std::string, ResolutionOutcome> outcomes;
  if (!resolution.conflicts.empty()) {
    outcomes = SetAsideLosers(s, apply_input, resolution, fetcher, head, displaced, scan);
    // Items whose local version could not be moved must not replace it.
    std::erase_if(resolution.items, [&](const PlannedItem& item) {
      auto o = outcomes.find(item.path);
      return o != outcomes.end() && o->second.error.has_value() && o->second.blocks_path;
    });
  }

  options.Checkpoint("pull.before_apply");
  std::vector<AppliedItem> applied = ApplyPlan(apply_input, *to_apply, fetcher);
  options.Checkpoint("pull.after_apply");
  // Nothing is fetched after the apply: the journal's files stay (until the
  // commit clears them, or for the pull that retries failed items), its
  // in-memory record of them goes (~10 MB at 100,000 objects).
  fetcher.KeepFetchedIn(nullptr);
  if (journal) journal->Seal();
  ThinVersionsAfter(s, options, applied, report);
  // Where the applier archived the losing local versions it displaced.
  for (std::size_t i = 0; i < to_apply->size(); ++i) {
    const std::string& path = (*to_apply)[i].path;
    auto d = displaced.find(path);
    if (d != displaced.end() && d->second.free_variant && applied[i].displaced_to) {
      outcomes[path].archived = *applied[i].displaced_to;
    }
    if (d != displaced.end() && d->second.conflict_copy && applied[i].displaced_to &&
        *applied[i].displaced_to != d->second.to) {
      outcomes[path].renamed_to = *applied[i].displaced_to;
    }
  }

  // The new base: the remote state, except where an item was not applied
  // (it keeps its old base, so the next pull plans it again). Moved, not
  // copied: nothing reads the remote state or the scan's stat delta after
  // the apply, and the items' remote entries move along (an item's own
  // entry is replaced below only once it is read for the last time).
  SyncedState synced;
  synced.entries = std::move(remote.entries);
  synced.stat_changes = std::move(scan.stat_changes);
  // Held paths keep their old base (the next pull plans them again); the
  // head's entries there are kept for the agent's pushes (sync/hold.h).
  HeldConflicts holding;
  if (!held.empty()) {
    holding.paths = held;
    holding.remote = HeldEntries(held, synced.entries);
    ReplaceHeld(held, base.entries, synced.entries);
  }
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
  bool exact = held.empty();
  if (!held.empty()) synced.complete = false;
  ChangeLists changes;
  std::vector<std::string> failed_paths;
  const std::size_t not_applied = static_cast<std::size_t>(
      std::count_if(applied.begin(), applied.end(),
                    [](const AppliedItem& a) { return a.status != ApplyStatus::kApplied; }));
  ReportedItems reported(not_applied + p.damaged_dirs.size());
  for (std::size_t i = 0; i < to_apply->size(); ++i) {
    PlannedItem& item = (*to_apply)[i];
    AppliedItem& done = applied[i];
    reported.Offer(report, PullItem{item.path, DescribeAction(item),
                                    std::string(ToString(done.status)),
                                    done.error ? std::optional<Error>(*done.error) : std::nullopt});
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
    // A join: the new base holds the store's entry (planner.h), as the
    // remote state does.
    if (item.action == PullAction::kJoin) continue;
    if (options.on_applied) {
      AppliedPath applied_path{.path = item.path,
                               .removed = item.remote->kind == EntryKind::kTombstone};
      if (done.stat) {
        applied_path.has_stat = true;
        applied_path.size = done.stat->size;
        applied_path.mtime_ns = done.stat->mtime_ns;
        applied_path.ctime_ns = done.stat->ctime_ns;
        applied_path.inode = done.stat->inode;
      }
      options.on_applied(applied_path);
    }
    // Applied: the stat cache follows the file.
    if (done.stat) {
      stat_put(item.path, StatCacheEntry{*done.stat, item.remote->chunks});
    } else {
      stat_remove(item.path);
    }
    const bool was_live = item.local->kind != EntryKind::kTombstone;
    if (item.remote->kind == EntryKind::kTombstone) {
      if (was_live) changes.Deleted(item.path);
    } else if (was_live) {
      changes.Modified(item.path);
    } else {
      changes.Added(item.path);
    }
  }
  // Each resolved conflict: applied only if its losing version was set
  // aside and every item it needed was applied; otherwise its paths keep
  // their old base (the next pull resolves them again) and nothing of
  // either version is lost.
  const auto item_at = [&](const std::string& path) { return ItemAt(*to_apply, path); };
  for (const ResolvedConflict& rc : resolution.conflicts) {
    PullResolution out{rc.path, rc.decision, rc.renamed_to, std::nullopt, "applied", std::nullopt};
    auto o = outcomes.find(rc.path);
    if (o != outcomes.end()) {
      out.archived = o->second.archived;
      if (o->second.renamed_to) out.renamed_to = o->second.renamed_to;
      out.error = o->second.error;
    }
    for (const std::optional<std::string>& path : {std::optional<std::string>(rc.path), rc.renamed_to}) {
      if (!path || out.error) continue;
      const std::optional<std::size_t> at = item_at(*path);
      if (!at) continue;
      const AppliedItem& done = applied[*at];
      if (done.status == ApplyStatus::kApplied) continue;
      out.error = done.error ? *done.error
                             : Error(SyncCode::kApplyFailed, Category::kConflict,
                                     *path + " changed during the pull; pull again");
    }
    if (out.error) {
      out.status = "failed";
      failed_paths.push_back(rc.path);
      synced.complete = false;
      exact = false;
      for (const std::optional<std::string>& path : {std::optional<std::string>(rc.path), rc.renamed_to}) {
        if (!path) continue;
        auto was = base.entries.find(*path);
        if (was != base.entries.end()) {
          synced.entries[*path] = was->second;
        } else {
          synced.entries.erase(*path);
        }
      }
    }
    report.resolutions.push_back(std::move(out));
  }
  for (const std::string& dir : p.damaged_dirs) {
    reported.Offer(report, {dir, "read_tree", "failed", p.first_damage});
    failed_paths.push_back(dir);
    synced.complete = false;
    exact = false;
  }
  // A head that does not descend from the base: the versions this device
  // keeps are recorded so that the next push publishes them (prepare.h).
  // A path a resolution planned an item for (an ancestor it recreated, a
  // name it took) is recorded as that item says.
  for (auto& [path, entry] : p.kept_versions) {
    if (item_at(path)) continue;
    synced.republish.push_back(path);
    synced.entries.insert_or_assign(path, std::move(entry));
    exact = false;
  }
  // The items and their outcomes are all recorded (in the report and the
  // new base): free them before the index is written (~45 MB at 100,000).
  to_apply = nullptr;
  // (Assigned new vectors: `= {}` would keep their capacity, 23 MB of
  // items at 100,000.)
  plan.items = std::vector<PlannedItem>();
  resolution.items = std::vector<PlannedItem>();
  applied = std::vector<AppliedItem>();
  if (exact) {
    synced.tree_ids = std::move(remote.tree_ids);
  } else {
    HX_ASSIGN_OR_RETURN(BuiltTrees rebuilt, BuildTrees(synced.entries, TreeIdFn(s.ctx)));
    synced.tree_ids = rebuilt.tree_ids;
  }
  synced.added = fetcher.TakeLearned();
  synced.snapshot_id = head.snapshot_id;
  synced.head_seq = head.seq;
  if (p.diverged) synced.history = std::move(p.history);
  HX_RETURN_IF_ERROR(CommitSyncedState(s, base, synced, kMetaLastPullMs, options.now_ms));
  HX_RETURN_IF_ERROR(SaveHeldConflicts(*s.index, holding));
  report.held = std::move(held);
  // Everything applied: the kept objects are not needed any more. (A pull
  // that failed items keeps them, bounded, for the pull that retries.)
  fetcher.KeepFetchedIn(nullptr);
  if (journal && failed_paths.empty()) journal->Clear();
  HX_RETURN_IF_ERROR(UpdateOwnManifestAfterPull(s, head.seq, options.now_ms, report.warnings));

  report.changes = changes.Summary();
  report.objects_fetched = fetcher.stats().objects;
  report.bytes_fetched = fetcher.stats().bytes;
  report.outcome = failed_paths.empty() ? "applied" : "partial";
  SaveReport(s, report, options.now_ms);
  std::map<std::string, std::uint64_t> counts = reported.counters();
  counts["pull_snapshots_imported"] = report.snapshots_read;
  counts["pull_trees_imported"] = report.trees_loaded;
  counts["pull_objects_imported"] = report.objects_fetched;
  counts["pull_objects_resumed"] = fetcher.stats().journal_objects;
  counts["pull_bytes_resumed"] = fetcher.stats().journal_bytes;
  if (local_chunks.chunks != 0) {
    counts["pull_chunks_reused_local"] = local_chunks.chunks;
    counts["pull_bytes_reused_local"] = local_chunks.bytes;
  }
  if (local_chunks.mismatches + local_chunks.unreadable != 0) {
    counts["pull_chunks_local_mismatch"] = local_chunks.mismatches + local_chunks.unreadable;
  }
  if (p.diverged) counts["pull_divergent_heads_merged"] = 1;
  AddCounters(*s.index, counts);
  if (!failed_paths.empty()) {
    auto failed_item = std::find_if(report.items.begin(), report.items.end(),
                                    [](const PullItem& i) { return i.error.has_value(); });
    auto failed_resolution =
        std::find_if(report.resolutions.begin(), report.resolutions.end(),
                     [](const PullResolution& r) { return r.error.has_value(); });
    const Error first = failed_item != report.items.end() ? *failed_item->error
                        : failed_resolution != report.resolutions.end()
                            ? *failed_resolution->error
                            : Error(SyncCode::kApplyFailed, Category::kIo, "unknown failure");
    report.error = Error(SyncCode::kApplyFailed, first.category,
                         std::to_string(failed_paths.size()) +
                             " item(s) could not be applied (first: " + failed_paths.front() +
                             ": " + first.message +
                             "); the others were. Pull again later; if a store object is damaged "
                             "or missing, 'hx sync verify --read-data' names what it affects and "
                             "'hx sync repair --read-data' puts back what a device still has")
                       .With("failed", std::to_string(failed_paths.size()))
                       .With("first_path", failed_paths.front())
                       .WithNextStep(std::string(next_steps::kPartialPull));
  }
  return report;
}

Result<PullReport> SyncPull(const std::filesystem::path& vault, const SyncOptions& options) {
  OperationObserver observer("pull", options);
  Result<Session> session = OpenSession(vault, options);
  if (!session.ok()) return observer.Finish(nullptr, Result<PullReport>(session.error()));
  Result<PullReport> result = PullInSession(*session, options);
  if (!result.ok()) {
    RecordOutcome(*session->index, Status(result.error()));
  } else {
    RecordOutcome(*session->index, result->error ? Status(*result->error) : OkStatus());
  }
  return observer.Finish(&*session, std::move(result));
}

}  // namespace hx
