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

PullPlan PlanPull(const EntryMap& local, const EntryMap& remote) {
  PullPlan plan;
  plan.items.reserve(MaxItems(local, remote));
  auto l = local.begin();
  auto r = remote.begin();
  while (l != local.end() || r != remote.end()) {
    const bool only_local = r == remote.end() || (l != local.end() && l->first < r->first);
    const bool only_remote = l == local.end() || (r != remote.end() && r->first < l->first);
    if (only_local) {
      plan.merged.emplace(l->first, l->second);  // a local-only change
      ++l;
      continue;
    }
    if (only_remote) {
      plan.items.push_back({r->first, PullAction::kTakeRemote, Tombstone({}), r->second});
      plan.merged.emplace(r->first, r->second);
      ++r;
      continue;
    }
    EntryMerge m = MergeEntries(l->second, r->second);
    if (m.action == PullAction::kJoin) {
      // The same content on both sides is the store's version, recorded as
      // the store has it. Joining the vectors would leave knowledge in this
      // device's base that the store lacks: a push publishes it only along
      // with some change on disk, so a later concurrent delete would be
      // resolved one way where it was published and another where not.
      if (!(l->second == r->second)) {
        plan.items.push_back({l->first, PullAction::kJoin, l->second, r->second});
      }
      plan.merged.emplace(l->first, r->second);
      ++l;
      ++r;
      continue;
    }
    if (m.action != PullAction::kKeepLocal) {
      plan.items.push_back({l->first, m.action, l->second, r->second});
    }
    plan.merged.emplace(l->first, m.action == PullAction::kConflict ? l->second : m.entry);
    ++l;
    ++r;
  }

  // A remote removal (or replacement by a non-directory) of a directory that
  // still has live content in the merged state would delete local work or
  // leave an orphan: make it a conflict instead.
  for (PlannedItem& item : plan.items) {
    if (item.action != PullAction::kTakeRemote || item.remote.kind == EntryKind::kDir) continue;
    if (item.local.kind != EntryKind::kDir) continue;
    const std::string prefix = item.path + "/";
    for (auto it = plan.merged.lower_bound(prefix);
         it != plan.merged.end() && it->first.starts_with(prefix); ++it) {
      if (IsLive(it->second)) {
        item.action = PullAction::kConflict;
        plan.merged[item.path] = item.local;
        break;
      }
    }
  }
  // Conversely, a live path taken from the remote needs its parent directory
  // to be live locally; if this device deleted that directory, taking the
  // child would resurrect a directory the user removed: a conflict too.
  for (PlannedItem& item : plan.items) {
    if (item.action != PullAction::kTakeRemote || !IsLive(item.remote)) continue;
    const std::string_view parent = Parent(item.path);
    if (parent.empty()) continue;
    auto it = plan.merged.find(std::string(parent));
    if (it != plan.merged.end() && it->second.kind != EntryKind::kDir) {
      item.action = PullAction::kConflict;
      plan.merged[item.path] = item.local;
    }
  }
  return plan;
}

}  // namespace hx
