#include "sync/resolve.h"

#include <algorithm>
#include <set>

#include "base/hex.h"
#include "hash/blake3.h"
#include "json/canonical_json.h"
#include "json/json_fields.h"
#include "json/utf8.h"

namespace hx {
namespace {

bool IsLive(const Entry& e) { return e.kind != EntryKind::kTombstone; }
bool IsFileLike(const Entry& e) {
  return e.kind == EntryKind::kFile || e.kind == EntryKind::kSymlink;
}

Entry Tombstone() {
  Entry e;
  e.kind = EntryKind::kTombstone;
  return e;
}

// Every ancestor of a '/'-separated path, shallowest first ("a", "a/b" for
// "a/b/c").
std::vector<std::string> Ancestors(std::string_view path) {
  std::vector<std::string> out;
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    out.emplace_back(path.substr(0, slash));
  }
  return out;
}

bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  if (FindInvalidUtf8(path)) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == ".." ||
        part.find('\0') != std::string_view::npos) {
      return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::string CopyNameVariant(std::string_view path, const Entry& loser, const Entry& winner,
                            int variant) {
  // The node that made the losing change: it has a counter the winner has
  // not seen.
  std::string node;
  for (const auto& [id, counter] : loser.vv.counters()) {
    auto w = winner.vv.counters().find(id);
    if (w == winner.vv.counters().end() || w->second < counter) {
      node = id;
      break;  // counters() is sorted: the first is the smallest
    }
  }
  if (node.empty() && !loser.vv.empty()) node = loser.vv.counters().begin()->first;
  node = node.substr(0, 8);
  if (node.empty()) node = "00000000";
  const std::string content = ContentId(loser).substr(0, 8);

  const std::size_t slash = path.rfind('/');
  const std::string_view dir =
      slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
  const std::string_view name =
      slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  const bool has_ext = dot != std::string_view::npos && dot != 0;
  const std::string_view stem = has_ext ? name.substr(0, dot) : name;
  const std::string_view ext = has_ext ? name.substr(dot) : std::string_view();
  std::string out(dir);
  out += stem;
  out += " (conflict " + node + " " + content;
  if (variant > 1) out += " " + std::to_string(variant);
  out += ")";
  out += ext;
  return out;
}

// Carries the resolutions out on a working copy of the merged state, so
// later decisions see earlier ones (a recreated ancestor, a taken name).
class Resolver {
 public:
  Resolver(const PullPlan& plan, const EntryMap& local, const EntryMap& remote)
      : remote_(remote), state_(MergedState(plan, local, remote)) {
    for (const PlannedItem& item : plan.items) {
      if (item.action != PullAction::kConflict) items_[item.path] = item;
    }
  }

  void Resolve(const PlannedItem& item, MergePolicy policy) {
    ResolvedConflict rc;
    rc.path = item.path;
    rc.policy = policy;
    const Entry& l = *item.local;
    const Entry& r = *item.remote;
    const bool structural = (l.kind == EntryKind::kDir && r.kind != EntryKind::kDir) ||
                            (r.kind == EntryKind::kDir && IsFileLike(l));
    if (policy == MergePolicy::kLocalPreferred) {
      rc.decision = "kept_local";
      if (IsFileLike(r)) {
        archives_[item.path] = r;
        rc.archive_remote = true;
      }
      state_[item.path] = l;
    } else if (policy == MergePolicy::kCloudPreferred && !structural) {
      rc.decision = "kept_remote";
      if (IsFileLike(l)) {
        moves_[item.path] = std::nullopt;
        rc.archive_local = true;
      }
      TakeRemote(item, policy);
    } else {
      KeepBoth(item, rc, policy);
    }
    conflicts_.push_back(std::move(rc));
  }

  Resolution Finish() && {
    Resolution out;
    for (auto& [path, to] : moves_) out.moves.push_back({path, to});
    for (auto& [path, entry] : archives_) out.archives.push_back({path, entry});
    for (auto& [path, item] : items_) out.items.push_back(std::move(item));
    out.conflicts = std::move(conflicts_);
    out.made = std::move(made_);
    return out;
  }

 private:
  void KeepBoth(const PlannedItem& item, ResolvedConflict& rc, MergePolicy policy) {
    const Entry& l = *item.local;
    const Entry& r = *item.remote;
    if (!IsLive(l)) {  // an edit against a deletion: the edit survives
      rc.decision = "kept_remote";
      TakeRemote(item, policy);
      return;
    }
    if (!IsLive(r)) {
      rc.decision = "kept_local";
      state_[item.path] = l;
      return;
    }
    rc.decision = "kept_both";
    bool local_keeps_name;
    if (l.kind == EntryKind::kDir) {
      local_keeps_name = true;  // a directory keeps its name
    } else if (r.kind == EntryKind::kDir) {
      local_keeps_name = false;
    } else {
      local_keeps_name = MergeEntries(l, r).entry == l;
    }
    if (local_keeps_name) {
      const std::string copy = FreeCopyName(item.path, r, l);
      items_[copy] = PlannedItem{copy, PullAction::kTakeRemote, Made(StateOr(copy)), Made(r)};
      state_[copy] = r;
      state_[item.path] = l;
      rc.renamed_to = copy;
    } else {
      const std::string copy = FreeCopyName(item.path, l, r);
      moves_[item.path] = copy;
      // The store may hold this very version under that name already
      // (another device that held it resolved the same conflict: after a
      // head restored from a backup, two devices can hold one version
      // concurrent with the head). The move puts it there: nothing to write.
      auto planned = items_.find(copy);
      if (planned != items_.end() && planned->second.action == PullAction::kTakeRemote &&
          !IsLive(*planned->second.local) && planned->second.remote->SameContent(l)) {
        items_.erase(planned);
      }
      state_[copy] = l;
      rc.renamed_to = copy;
      TakeRemote(item, policy);
    }
  }

  // Applies the remote version at its path, first recreating ancestors the
  // local side removed (or renaming/archiving a local file in their way).
  void TakeRemote(const PlannedItem& item, MergePolicy policy) {
    if (IsLive(*item.remote)) {
      for (const std::string& ancestor : Ancestors(item.path)) {
        const Entry current = StateOr(ancestor);
        if (current.kind == EntryKind::kDir) continue;
        if (IsFileLike(current)) {
          if (policy == MergePolicy::kCloudPreferred) {
            moves_[ancestor] = std::nullopt;
          } else {
            Entry dir;
            dir.kind = EntryKind::kDir;
            const std::string copy = FreeCopyName(ancestor, current, dir);
            moves_[ancestor] = copy;
            state_[copy] = current;
          }
        }
        auto theirs = remote_.find(ancestor);
        const Entry* dir = nullptr;
        if (theirs != remote_.end() && theirs->second.kind == EntryKind::kDir) {
          dir = &theirs->second;
        } else {
          Entry made;
          made.kind = EntryKind::kDir;
          dir = Made(std::move(made));
        }
        items_[ancestor] = PlannedItem{ancestor, PullAction::kTakeRemote, Made(current), dir};
        state_[ancestor] = *dir;
      }
    }
    items_[item.path] = PlannedItem{item.path, PullAction::kTakeRemote, item.local, item.remote};
    state_[item.path] = *item.remote;
  }

  Entry StateOr(const std::string& path) const {
    auto it = state_.find(path);
    return it == state_.end() ? Tombstone() : it->second;
  }

  // An entry for an item that is not the one at its path in either state:
  // owned by the resolution (Resolution::made).
  const Entry* Made(Entry entry) {
    made_.push_back(std::make_unique<const Entry>(std::move(entry)));
    return made_.back().get();
  }

  // The conflict name of `path` for `loser`, skipping names that hold
  // another live version (deterministic given the same state).
  std::string FreeCopyName(std::string_view path, const Entry& loser, const Entry& winner) {
    for (int variant = 1;; ++variant) {
      std::string name = CopyNameVariant(path, loser, winner, variant);
      auto it = state_.find(name);
      if (it == state_.end() || !IsLive(it->second) || it->second.SameContent(loser)) {
        return name;
      }
    }
  }

  const EntryMap& remote_;
  EntryMap state_;
  std::map<std::string, PlannedItem> items_;
  std::map<std::string, std::optional<std::string>> moves_;
  std::map<std::string, Entry> archives_;
  std::vector<ResolvedConflict> conflicts_;
  std::vector<std::unique_ptr<const Entry>> made_;
};

MergePolicy PolicyOf(ManualChoice choice) {
  switch (choice) {
    case ManualChoice::kLocal: return MergePolicy::kLocalPreferred;
    case ManualChoice::kRemote: return MergePolicy::kCloudPreferred;
    case ManualChoice::kBoth: return MergePolicy::kKeepBoth;
  }
  return MergePolicy::kKeepBoth;
}

std::string JoinCapped(const std::vector<std::string>& paths) {
  std::string out;
  for (std::size_t i = 0; i < paths.size() && i < 20; ++i) out += (i ? ", " : "") + paths[i];
  if (paths.size() > 20) out += ", ...";
  return out;
}

}  // namespace

std::string_view ToString(ManualChoice choice) {
  switch (choice) {
    case ManualChoice::kLocal: return "local";
    case ManualChoice::kRemote: return "remote";
    case ManualChoice::kBoth: return "both";
  }
  return "both";
}

Result<Decisions> ParseDecisions(std::string_view bytes) {
  if (bytes.size() > kMaxDecisionsFileBytes) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "the decisions file is larger than " +
                            std::to_string(kMaxDecisionsFileBytes) + " bytes");
  }
  HX_ASSIGN_OR_RETURN(const nlohmann::json value, ParseJson(bytes));
  HX_ASSIGN_OR_RETURN(JsonFields fields, JsonFields::Of(value, "decisions file"));
  HX_ASSIGN_OR_RETURN(const std::int64_t version, fields.Int("format_version"));
  if (version != kDecisionsFormatVersion) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "decisions file: format_version must be 1, found " +
                            std::to_string(version));
  }
  HX_ASSIGN_OR_RETURN(const JsonFields listed, fields.Object("decisions"));
  (void)listed;  // read below in file order; the accessor checked its type
  HX_RETURN_IF_ERROR(fields.RejectUnknownFields());
  Decisions out;
  for (const auto& [path, choice] : value.at("decisions").items()) {
    if (!IsSafeRelativePath(path)) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "decisions file: " + nlohmann::json(path).dump() +
                              " is not a relative vault path")
          .With("path", path);
    }
    const std::string* name = choice.get_ptr<const std::string*>();
    if (name == nullptr || (*name != "local" && *name != "remote" && *name != "both")) {
      return InvalidInput(SyncCode::kInputInvalid,
                          "decisions file: the choice for " + nlohmann::json(path).dump() +
                              " must be \"local\", \"remote\" or \"both\"")
          .With("path", path);
    }
    out[path] = *name == "local" ? ManualChoice::kLocal
                : *name == "remote" ? ManualChoice::kRemote
                                    : ManualChoice::kBoth;
  }
  return out;
}

std::string ContentId(const Entry& entry) {
  std::string d(ToString(entry.kind));
  d += '\n';
  switch (entry.kind) {
    case EntryKind::kFile:
      d += std::to_string(entry.size) + "\n" + (entry.executable ? "x" : "-") + "\n";
      for (const ChunkRef& c : entry.chunks) d += ToHex(c.id) + " " + std::to_string(c.size) + "\n";
      break;
    case EntryKind::kSymlink:
      d += entry.symlink_target;
      break;
    case EntryKind::kDir:
    case EntryKind::kTombstone:
      break;
  }
  return Blake3Hex(d);
}

std::string ConflictCopyVariant(std::string_view copy, int variant) {
  const std::size_t slash = copy.rfind('/');
  const std::size_t leaf = slash == std::string_view::npos ? 0 : slash + 1;
  constexpr std::string_view kMarker = " (conflict ";
  const std::size_t marker = copy.rfind(kMarker);
  const std::size_t close =
      marker == std::string_view::npos || marker < leaf ? std::string_view::npos
                                                        : copy.find(')', marker);
  if (close == std::string_view::npos) {
    return std::string(copy) + ".~" + std::to_string(variant) + "~";
  }
  // "<node8> <content8>" or "<node8> <content8> <n>": keep the first two.
  std::string_view inside = copy.substr(marker + kMarker.size(), close - marker - kMarker.size());
  const std::size_t first = inside.find(' ');
  const std::size_t second = first == std::string_view::npos ? std::string_view::npos
                                                             : inside.find(' ', first + 1);
  if (second != std::string_view::npos) inside = inside.substr(0, second);
  std::string out(copy.substr(0, marker));
  out += kMarker;
  out += inside;
  out += " " + std::to_string(variant);
  out += copy.substr(close);
  return out;
}

std::string ConflictCopyName(std::string_view path, const Entry& loser, const Entry& winner) {
  return CopyNameVariant(path, loser, winner, 1);
}

Result<Resolution> ResolveConflicts(const PullPlan& plan, const EntryMap& local,
                                    const EntryMap& remote, MergePolicy policy,
                                    const Decisions* decisions) {
  if (!IsResolvingPolicy(policy)) {
    return Error(SyncCode::kInternal, Category::kInternal,
                 "ResolveConflicts called with policy " + std::string(MergePolicyName(policy)));
  }
  const std::vector<std::string> conflicting = plan.ConflictPaths();
  if (policy == MergePolicy::kManualPerItem) {
    if (decisions == nullptr) {
      return Error(SyncCode::kInternal, Category::kInternal,
                   "manual_per_item without a decisions file reached the resolver");
    }
    std::vector<std::string> missing, extra;
    for (const std::string& path : conflicting) {
      if (decisions->count(path) == 0) missing.push_back(path);
    }
    for (const auto& [path, choice] : *decisions) {
      if (!std::binary_search(conflicting.begin(), conflicting.end(), path)) extra.push_back(path);
    }
    if (!missing.empty() || !extra.empty()) {
      std::string message = "the decisions file does not match the conflicts:";
      if (!missing.empty()) message += " no decision for " + JoinCapped(missing) + ";";
      if (!extra.empty()) message += " not in conflict: " + JoinCapped(extra) + ";";
      message += " nothing was applied. Name exactly the conflicting paths and pull again";
      Error e(SyncCode::kMergePreconditionFailed, Category::kInvalidInput, message);
      e.With("missing", JoinCapped(missing)).With("extra", JoinCapped(extra));
      e.With("missing_count", std::to_string(missing.size()));
      e.With("extra_count", std::to_string(extra.size()));
      return e;
    }
  }
  Resolver resolver(plan, local, remote);
  for (const PlannedItem& item : plan.items) {
    if (item.action != PullAction::kConflict) continue;
    const MergePolicy effective =
        policy == MergePolicy::kManualPerItem ? PolicyOf(decisions->at(item.path)) : policy;
    resolver.Resolve(item, effective);
  }
  return std::move(resolver).Finish();
}

}  // namespace hx
