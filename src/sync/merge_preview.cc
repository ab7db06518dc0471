// The merge preview of a real vault (see merge_preview.h). Everything here
// reads: PreparePull writes nothing, the scan of an up-to-date vault keeps
// what it learned to itself (no stat cache update), and the governance
// context only reads store records.
#include "sync/merge_preview.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "base/printable.h"
#include "sync/governance.h"
#include "sync/internal.h"
#include "sync/resolve.h"

namespace hx {
namespace {

const Entry* LiveOrNull(const EntryMap& map, EntryMap::const_iterator it) {
  if (it == map.end() || it->second.kind == EntryKind::kTombstone) return nullptr;
  return &it->second;
}

// Adds what turned `before` into `after` at `path` (either may be null: no
// entry) to `set`.
void AddChange(const std::string& path, const Entry* before, const Entry* after,
               SyncMergeChangeSetV1& set) {
  if (before == nullptr && after == nullptr) return;
  const bool before_dir = before != nullptr && before->kind == EntryKind::kDir;
  const bool after_dir = after != nullptr && after->kind == EntryKind::kDir;
  if (before_dir && after_dir) return;  // a directory has no content of its own
  if (before_dir) set.overlay_ids.push_back(OverlayIdOf(kOverlayKindDirRemoved, path));
  if (after_dir) set.overlay_ids.push_back(OverlayIdOf(kOverlayKindDirCreated, path));
  const Entry* before_item = before_dir ? nullptr : before;
  const Entry* after_item = after_dir ? nullptr : after;
  if (before_item == nullptr && after_item == nullptr) return;
  if (before_item == nullptr || after_item == nullptr || before_item->kind != after_item->kind) {
    set.object_hashes.push_back(ObjectHashOfPath(path));
    return;
  }
  if (before_item->kind == EntryKind::kFile) {
    const bool same_bytes =
        before_item->size == after_item->size && before_item->chunks == after_item->chunks;
    if (!same_bytes) {
      set.object_hashes.push_back(ObjectHashOfPath(path));
    } else if (before_item->executable != after_item->executable) {
      set.object_hashes.push_back(ObjectHashOfPath(path));
      set.overlay_ids.push_back(OverlayIdOf(kOverlayKindMode, path));
    }
    return;
  }
  if (before_item->symlink_target != after_item->symlink_target) {
    set.object_hashes.push_back(ObjectHashOfPath(path));
    set.overlay_ids.push_back(OverlayIdOf(kOverlayKindSymlink, path));
  }
}

// One ordered walk over the union of paths of `base` and `side`: adds each
// change to `set` and, if `paths` is not null, the changed paths by hash.
void Diff(const EntryMap& base, const EntryMap& side, SyncMergeChangeSetV1& set,
          std::map<std::string, std::string>* paths) {
  auto b = base.begin();
  auto s = side.begin();
  while (b != base.end() || s != side.end()) {
    const bool take_b = s == side.end() || (b != base.end() && b->first <= s->first);
    const bool take_s = b == base.end() || (s != side.end() && s->first <= b->first);
    const std::string& path = take_b ? b->first : s->first;
    const std::size_t before = set.object_hashes.size() + set.overlay_ids.size();
    AddChange(path, take_b ? LiveOrNull(base, b) : nullptr, take_s ? LiveOrNull(side, s) : nullptr,
              set);
    if (paths != nullptr && set.object_hashes.size() + set.overlay_ids.size() != before) {
      paths->emplace(ObjectHashOfPath(path), path);
    }
    if (take_b) ++b;
    if (take_s) ++s;
  }
}

SyncMergeChangeSetV1 Normalized(SyncMergeChangeSetV1 set) {
  // Every element is well formed by construction, so this only sorts.
  Result<SyncMergeChangeSetV1> normalized = NormalizeChangeSet(std::move(set), "change_set");
  return normalized.ok() ? std::move(normalized).value() : SyncMergeChangeSetV1{};
}

std::string_view ActionFor(MergePolicy policy) {
  switch (policy) {
    case MergePolicy::kKeepBoth: return "kept_both";
    case MergePolicy::kLocalPreferred: return "kept_local";
    case MergePolicy::kCloudPreferred: return "kept_remote";
    case MergePolicy::kManualPerItem: return "await_decision";
    default: return "conflict";
  }
}

bool NeedsContext(MergePolicy policy) {
  return policy == MergePolicy::kConservativePlusV2 ||
         policy == MergePolicy::kConservativePlusV3 || policy == MergePolicy::kConservativePlusV4;
}

}  // namespace

SyncMergeChangeSetV1 ChangeSetBetween(const EntryMap& base, const EntryMap& side) {
  SyncMergeChangeSetV1 set;
  Diff(base, side, set, nullptr);
  return Normalized(std::move(set));
}

MergeChangeSets ChangeSetsOf(const PreparedPull& prepared, const EntryMap* local_when_up_to_date) {
  MergeChangeSets sets;
  const EntryMap& base = prepared.base.entries;
  const EntryMap* local = prepared.up_to_date ? local_when_up_to_date : &prepared.LocalState();
  if (local != nullptr) {
    Diff(base, *local, sets.local, &sets.paths);
    sets.local = Normalized(std::move(sets.local));
  }
  if (!prepared.up_to_date) {
    Diff(base, prepared.remote.entries, sets.remote, &sets.paths);
    sets.remote = Normalized(std::move(sets.remote));
  }
  return sets;
}

Result<SyncMergePreviewReportV2> PreviewMerge(Session& s, const PreparedPull& prepared,
                                              MergePolicy policy, std::int64_t now_ms) {
  std::optional<LocalChanges> scanned;
  if (prepared.up_to_date) {
    // PreparePull skips the scan when the head is the base; a preview still
    // reports this device's changes (they merge trivially).
    HX_ASSIGN_OR_RETURN(ScanResult scan, ScanFolder(s));
    scanned = DetectLocalChangesOfScan(prepared.base, scan, s.node_id(), StateWanted::kAlways);
  }
  MergeChangeSets sets = ChangeSetsOf(prepared, scanned ? &scanned->state : nullptr);

  SyncMergeContextV2 context;  // the conservative policy and the others ignore it
  if (NeedsContext(policy)) {
    HX_ASSIGN_OR_RETURN(context, BuildMergeContext(s, prepared, now_ms));
  }
  HX_ASSIGN_OR_RETURN(SyncMergePreviewReportV2 report,
                      MergePreviewWithPolicyV2(sets.local, sets.remote, context, policy, now_ms));
  for (SyncMergeItemV2& item : report.items) {
    if (auto it = sets.paths.find(item.object_hash); it != sets.paths.end()) item.path = it->second;
  }
  if (!IsConservativeFamily(policy)) {
    // What a pull would resolve is the plan's conflicts (version vectors),
    // which may differ from the path overlap: equal edits on both sides
    // join, and a remote change under a locally removed directory conflicts.
    std::vector<SyncMergeItemV2> items;
    if (IsResolvingPolicy(policy) && policy != MergePolicy::kManualPerItem) {
      // Exactly what the pull would decide (sync/resolve.h), names included.
      HX_ASSIGN_OR_RETURN(const Resolution resolution,
                          ResolveConflicts(prepared.plan, prepared.LocalState(),
                                           prepared.remote.entries, policy, nullptr));
      for (const ResolvedConflict& conflict : resolution.conflicts) {
        items.push_back(SyncMergeItemV2{ObjectHashOfPath(conflict.path), conflict.path,
                                        conflict.decision, conflict.renamed_to.value_or("")});
      }
    } else {
      // none reports the conflict; manual_per_item waits for a decisions file.
      for (const PlannedItem& item : prepared.plan.items) {
        if (item.action != PullAction::kConflict) continue;
        items.push_back(SyncMergeItemV2{ObjectHashOfPath(item.path), item.path,
                                        std::string(ActionFor(policy)), ""});
      }
    }
    HX_RETURN_IF_ERROR(SetResolutionItems(report, std::move(items)));
  }
  return report;
}

bool MergePreviewReport::safe() const {
  return std::visit([](const auto& r) { return r.safe; }, report);
}

nlohmann::json MergePreviewReport::ToJson() const {
  return std::visit([](const auto& r) { return hx::ToJson(r); }, report);
}

std::string MergePreviewReport::ToHuman() const {
  std::ostringstream out;
  std::visit(
      [&](const auto& r) {
        out << "policy " << r.policy << ": " << (r.safe ? "safe to merge" : "NOT safe to merge")
            << "\n"
            << "local:   " << r.local.object_hashes.size() << " objects, "
            << r.local.overlay_ids.size() << " overlays changed\n"
            << "remote:  " << r.remote.object_hashes.size() << " objects, "
            << r.remote.overlay_ids.size() << " overlays changed\n"
            << "overlap: " << r.overlap.object_hashes.size() << " objects, "
            << r.overlap.overlay_ids.size() << " overlays\n"
            << "reasons:";
        for (const std::string& reason : r.reasons) out << " " << Printable(reason);
        out << "\n";
      },
      report);
  if (const auto* v2 = std::get_if<SyncMergePreviewReportV2>(&report)) {
    for (const SyncMergeItemV2& item : v2->items) {
      out << "  " << item.action << ": "
          << Printable(item.path.empty() ? item.object_hash : item.path);
      if (!item.renamed_to.empty()) {
        out << " (other version at " << Printable(item.renamed_to) << ")";
      }
      out << "\n";
    }
    if (!v2->lock_conflicts.empty()) {
      out << "locked by other devices: " << v2->lock_conflicts.size() << " changed path(s)\n";
    }
  }
  return out.str();
}

Result<MergePreviewReport> SyncMergePreview(const std::filesystem::path& vault,
                                            const SyncOptions& options, MergePolicy policy) {
  HX_ASSIGN_OR_RETURN(Session s, OpenSession(vault, options));
  PullReport scratch;  // PreparePull fills a few counters nobody reads here
  HX_ASSIGN_OR_RETURN(PreparedPull prepared, PreparePull(s, options, scratch));
  HX_ASSIGN_OR_RETURN(SyncMergePreviewReportV2 v2,
                      PreviewMerge(s, prepared, policy, options.now_ms));
  MergePreviewReport out;
  if (policy == MergePolicy::kConservative) {
    HX_ASSIGN_OR_RETURN(SyncMergePreviewReportV1 v1,
                        MergePreviewConservative(v2.local, v2.remote, options.now_ms));
    out.report = std::move(v1);
  } else {
    out.report = std::move(v2);
  }
  return out;
}

}  // namespace hx
