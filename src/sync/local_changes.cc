// DetectLocalChanges (declared in planner.h): the comparison of the scanned
// folder with the base. Kept apart from the pull planner and merge policies
// because it is the hot path of every push and status (100k+ entries).
#include <optional>
#include <utility>

#include "sync/internal.h"
#include "sync/planner.h"

namespace hx {
namespace {

// The walk both entry points share: every path is in base, scanned, or
// both (both maps sorted). A live base path that `scanned` lacks becomes a
// tombstone unless `keep_missing(path, entry)` says it is unknown rather
// than deleted (then it stays as in the base). Without kBuildState only the
// change lists are filled (status, and the check a push makes first).
template <bool kBuildState, typename KeepMissing>
LocalChanges Compare(const EntryMap& base, const EntryMap& scanned, std::string_view node,
                     const KeepMissing& keep_missing) {
  LocalChanges out;
  // Most entries share their vector with the one before (VersionVector is a
  // shared immutable map): bump each distinct vector once, and give every
  // new path the same fresh {node: 1}.
  VersionVector fresh;
  fresh.Bump(node);
  std::optional<std::pair<VersionVector, VersionVector>> last_bump;
  const auto bumped = [&](const VersionVector& vv) {
    if (!last_bump || !(last_bump->first == vv)) {
      VersionVector next = vv;
      next.Bump(node);
      last_bump.emplace(vv, std::move(next));
    }
    return last_bump->second;
  };
  const auto put = [&out](const std::string& path, auto&& entry) {
    if constexpr (kBuildState) {
      out.state.emplace_hint(out.state.end(), path, std::forward<decltype(entry)>(entry));
    }
  };
  auto b = base.begin();
  auto s = scanned.begin();
  while (b != base.end() || s != scanned.end()) {
    const bool take_base = s == scanned.end() || (b != base.end() && b->first < s->first);
    const bool take_scan = b == base.end() || (s != scanned.end() && s->first < b->first);
    if (take_base) {
      if (b->second.kind != EntryKind::kTombstone && !keep_missing(b->first, b->second)) {
        Entry t;
        t.kind = EntryKind::kTombstone;
        t.vv = bumped(b->second.vv);
        out.deleted.push_back(b->first);
        put(b->first, std::move(t));
      } else {
        put(b->first, b->second);
      }
      ++b;
    } else if (take_scan) {
      Entry e = s->second;
      e.vv = fresh;
      out.added.push_back(s->first);
      put(s->first, std::move(e));
      ++s;
    } else {
      const Entry& was = b->second;
      const Entry& now = s->second;
      if (was.SameContent(now)) {
        put(b->first, was);
      } else {
        Entry e = now;
        e.vv = bumped(was.vv);
        (was.kind != EntryKind::kTombstone ? out.modified : out.added).push_back(s->first);
        put(s->first, std::move(e));
      }
      ++b;
      ++s;
    }
  }
  return out;
}

}  // namespace

LocalChanges DetectLocalChanges(const EntryMap& base, const EntryMap& scanned,
                                std::string_view node) {
  return Compare<true>(base, scanned, node,
                       [](const std::string&, const Entry&) { return false; });
}

LocalChanges DetectLocalChangesOfScan(const BaseState& base, const ScanResult& scan,
                                      std::string_view node, StateWanted want) {
  // DetectLocalChanges(base, ScannedWithBase(base, scan)) without building
  // that copy of the scan: a base path the scan lacks is unknown, not
  // deleted, when the scan could not read it (or a directory above it) or
  // .hxignore now ignores it.
  const auto unknown = [&scan](const std::string& path, const Entry& entry) {
    for (const ScanError& error : scan.errors) {
      if (path == error.path ||
          (path.size() > error.path.size() && path.starts_with(error.path) &&
           path[error.path.size()] == '/')) {
        return true;
      }
    }
    return scan.ignore_rules.IsIgnored(path, entry.kind == EntryKind::kDir);
  };
  if (want == StateWanted::kAlways) return Compare<true>(base.entries, scan.entries, node, unknown);
  // Most pushes and every status of an unchanged vault stop at the change
  // lists: no copy of the base as the state to publish.
  LocalChanges lists = Compare<false>(base.entries, scan.entries, node, unknown);
  if (want == StateWanted::kNever || lists.empty()) return lists;
  return Compare<true>(base.entries, scan.entries, node, unknown);
}

}  // namespace hx

