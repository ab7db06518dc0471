#include "sync/planner.h"

#include <algorithm>
#include <compare>
#include <tuple>

namespace hx {
namespace {

Entry Tombstone(VersionVector vv) {
  Entry e;
  e.kind = EntryKind::kTombstone;
  e.vv = std::move(vv);
  return e;
}

bool IsLive(const Entry& e) { return e.kind != EntryKind::kTombstone; }

std::uint64_t MaxCounter(const VersionVector& vv) {
  std::uint64_t max = 0;
  for (const auto& [node, counter] : vv.counters()) max = std::max(max, counter);
  return max;
}

// A total order on entries, used only to pick the same winner of a conflict
// on every device: the later-looking vector first (largest counter), then
// the vector itself, then the content. Any fixed order would do; this one
// favours the version that saw more history.
std::strong_ordering CompareForWinner(const Entry& a, const Entry& b) {
  if (auto c = MaxCounter(a.vv) <=> MaxCounter(b.vv); c != 0) return c;
  if (auto c = a.vv.counters() <=> b.vv.counters(); c != 0) return c;
  if (auto c = a.kind <=> b.kind; c != 0) return c;
  if (auto c = a.size <=> b.size; c != 0) return c;
  const auto chunk_key = [](const ChunkRef& r) { return std::tie(r.id, r.size); };
  if (auto c = std::lexicographical_compare_three_way(
          a.chunks.begin(), a.chunks.end(), b.chunks.begin(), b.chunks.end(),
          [&](const ChunkRef& x, const ChunkRef& y) { return chunk_key(x) <=> chunk_key(y); });
      c != 0) {
    return c;
  }
  if (auto c = a.executable <=> b.executable; c != 0) return c;
  if (auto c = a.symlink_target <=> b.symlink_target; c != 0) return c;
  return a.mtime_ns <=> b.mtime_ns;
}

// The parent directory of a '/'-separated path ("" for top-level paths).
std::string_view Parent(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

}  // namespace

EntryMerge MergeEntries(const Entry& local, const Entry& remote) {
  const VvOrder order = local.vv.Compare(remote.vv);
  const bool local_wins_ties = CompareForWinner(local, remote) > 0;
  const Entry& winner = local_wins_ties ? local : remote;
  if (local.SameContent(remote)) {
    // The same content reached both sides (or neither changed): no conflict.
    // The winner's metadata keeps the result independent of the side.
    Entry joined = winner;
    joined.vv = local.vv.Merge(remote.vv);
    return {PullAction::kJoin, std::move(joined)};
  }
  switch (order) {
    case VvOrder::kBefore:
      return {PullAction::kTakeRemote, remote};
    case VvOrder::kAfter:
      return {PullAction::kKeepLocal, local};
    case VvOrder::kEqual:
      // Equal vectors with different content cannot come from hx itself
      // (every change bumps a counter); treat as a conflict rather than
      // guess.
    case VvOrder::kConcurrent:
      break;
  }
  return {PullAction::kConflict, winner};
}

bool PullPlan::HasConflicts() const {
  return std::any_of(items.begin(), items.end(),
                     [](const PlannedItem& i) { return i.action == PullAction::kConflict; });
}

std::vector<std::string> PullPlan::ConflictPaths() const {
  std::vector<std::string> paths;
  for (const PlannedItem& item : items) {
    if (item.action == PullAction::kConflict) paths.push_back(item.path);
  }
  return paths;
}

namespace {

// How many items PlanPull can list at most: the paths only the remote has
// and those whose entries differ (a path with equal entries on both sides is
// never an item). The items are reserved at this size, not grown by
// doubling: at 100,000 items (a first pull) the doubling's slack was 7 MB of
// the pull's peak, and the vector lives through the whole apply.
std::size_t MaxItems(const EntryMap& local, const EntryMap& remote) {
  std::size_t n = 0;
  auto l = local.begin();
  auto r = remote.begin();
  while (r != remote.end()) {
    if (l == local.end() || r->first < l->first) {
      ++n;
      ++r;
    } else if (l->first < r->first) {
      ++l;
    } else {
      if (!(l->second == r->second)) ++n;
      ++l;
      ++r;
    }
  }
  return n;
}

}  // namespace

namespace {

// The state after the plan (MergedState), read through the items instead
// of held as a copy of every entry: a path's item says which side it takes
// (a conflict keeps the local entry); a path without one keeps the local
// entry (a local-only change, a local version that descends from the
// store's, or the same entry on both sides).
class Merged {
 public:
  Merged(const EntryMap& local, const EntryMap& remote, const std::vector<PlannedItem>& items)
      : local_(local), remote_(remote), items_(items) {}

  // The entry at `path`; null if neither side has it.
  const Entry* At(const std::string& path) const {
    const auto item = std::lower_bound(
        items_.begin(), items_.end(), path,
        [](const PlannedItem& i, const std::string& wanted) { return i.path < wanted; });
    if (item != items_.end() && item->path == path) return Of(*item);
    if (auto l = local_.find(path); l != local_.end()) return &l->second;
    if (auto r = remote_.find(path); r != remote_.end()) return &r->second;
    return nullptr;
  }

  // Whether a path beneath `prefix` ("<dir>/") is live.
  bool AnyLiveBeneath(const std::string& prefix) const {
    for (const EntryMap* side : {&local_, &remote_}) {
      for (auto it = side->lower_bound(prefix); it != side->end() && it->first.starts_with(prefix);
           ++it) {
        if (IsLive(*At(it->first))) return true;
      }
    }
    return false;
  }

  // fn(path, entry) for every path, in order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    auto l = local_.begin();
    auto r = remote_.begin();
    auto item = items_.begin();
    while (l != local_.end() || r != remote_.end()) {
      const bool from_local = r == remote_.end() || (l != local_.end() && l->first <= r->first);
      const std::string& path = from_local ? l->first : r->first;
      const Entry* entry = from_local ? &l->second : &r->second;
      while (item != items_.end() && item->path < path) ++item;
      if (item != items_.end() && item->path == path) entry = Of(*item);
      fn(path, *entry);
      const bool both = l != local_.end() && r != remote_.end() && l->first == r->first;
      if (from_local || both) ++l;
      if (!from_local || both) ++r;
    }
  }

 private:
  static const Entry* Of(const PlannedItem& item) {
    return item.action == PullAction::kConflict ? item.local : item.remote;
  }

  const EntryMap& local_;
  const EntryMap& remote_;
  const std::vector<PlannedItem>& items_;
};

}  // namespace

const Entry& NoEntry() {
  static const Entry none = Tombstone({});
  return none;
}

PullPlan PlanPull(const EntryMap& local, const EntryMap& remote) {
  PullPlan plan;
  plan.items.reserve(MaxItems(local, remote));
  auto l = local.begin();
  auto r = remote.begin();
  while (l != local.end() || r != remote.end()) {
    const bool only_local = r == remote.end() || (l != local.end() && l->first < r->first);
    const bool only_remote = l == local.end() || (r != remote.end() && r->first < l->first);
    if (only_local) {
      ++l;  // a local-only change
      continue;
    }
    if (only_remote) {
      plan.items.push_back({r->first, PullAction::kTakeRemote, &NoEntry(), &r->second});
      ++r;
      continue;
    }
    const PullAction action = MergeEntries(l->second, r->second).action;
    // The same content on both sides is the store's version, recorded as
    // the store has it. Joining the vectors would leave knowledge in this
    // device's base that the store lacks: a push publishes it only along
    // with some change on disk, so a later concurrent delete would be
    // resolved one way where it was published and another where not.
    const bool listed = action == PullAction::kJoin ? !(l->second == r->second)
                                                    : action != PullAction::kKeepLocal;
    if (listed) plan.items.push_back({l->first, action, &l->second, &r->second});
    ++l;
    ++r;
  }

  const Merged merged(local, remote, plan.items);
  // A remote removal (or replacement by a non-directory) of a directory that
  // still has live content in the merged state would delete local work or
  // leave an orphan: make it a conflict instead (which keeps the local
  // directory in the merged state).
  for (PlannedItem& item : plan.items) {
    if (item.action != PullAction::kTakeRemote || item.remote->kind == EntryKind::kDir) continue;
    if (item.local->kind != EntryKind::kDir) continue;
    if (merged.AnyLiveBeneath(item.path + "/")) item.action = PullAction::kConflict;
  }
  // Conversely, a live path taken from the remote needs its parent directory
  // to be live locally; if this device deleted that directory, taking the
  // child would resurrect a directory the user removed: a conflict too.
  for (PlannedItem& item : plan.items) {
    if (item.action != PullAction::kTakeRemote || !IsLive(*item.remote)) continue;
    const std::string_view parent = Parent(item.path);
    if (parent.empty()) continue;
    const Entry* at = merged.At(std::string(parent));
    if (at != nullptr && at->kind != EntryKind::kDir) item.action = PullAction::kConflict;
  }
  merged.ForEach([&](const std::string&, const Entry& entry) {
    if (entry.kind == EntryKind::kFile || entry.kind == EntryKind::kSymlink) {
      ++plan.live_files_after;
    }
  });
  return plan;
}

EntryMap MergedState(const PullPlan& plan, const EntryMap& local, const EntryMap& remote) {
  EntryMap state;
  Merged(local, remote, plan.items).ForEach([&](const std::string& path, const Entry& entry) {
    state.emplace_hint(state.end(), path, entry);
  });
  return state;
}

}  // namespace hx
