// DetectLocalChanges (declared in planner.h): the comparison of the scanned
// folder with the base. Kept apart from the pull planner and merge policies
// because it is the hot path of every push and status (100k+ entries).
#include "sync/planner.h"

namespace hx {

LocalChanges DetectLocalChanges(const EntryMap& base, const EntryMap& scanned,
                                std::string_view node) {
  LocalChanges out;
  // Walk both sorted maps together: every path is in base, scanned, or both.
  auto b = base.begin();
  auto s = scanned.begin();
  while (b != base.end() || s != scanned.end()) {
    const bool take_base = s == scanned.end() || (b != base.end() && b->first < s->first);
    const bool take_scan = b == base.end() || (s != scanned.end() && s->first < b->first);
    if (take_base) {
      // Gone from the folder: a live base entry becomes a tombstone.
      if (b->second.kind != EntryKind::kTombstone) {
        Entry t;
        t.kind = EntryKind::kTombstone;
        t.vv = b->second.vv;
        t.vv.Bump(node);
        out.deleted.push_back(b->first);
        out.state.emplace(b->first, std::move(t));
      } else {
        out.state.emplace(b->first, b->second);
      }
      ++b;
    } else if (take_scan) {
      Entry e = s->second;
      e.vv = VersionVector();
      e.vv.Bump(node);
      out.added.push_back(s->first);
      out.state.emplace(s->first, std::move(e));
      ++s;
    } else {
      const Entry& was = b->second;
      const Entry& now = s->second;
      if (was.SameContent(now)) {
        out.state.emplace(b->first, was);
      } else {
        Entry e = now;
        e.vv = was.vv;
        e.vv.Bump(node);
        (was.kind != EntryKind::kTombstone ? out.modified : out.added).push_back(s->first);
        out.state.emplace(s->first, std::move(e));
      }
      ++b;
      ++s;
    }
  }
  return out;
}

}  // namespace hx
