// Held conflicts: how the agent (`hx sync watch`) pauses only the
// conflicting paths under merge policy `none` while every other path keeps
// syncing (SyncOptions::hold_conflicts; the commands never set it).
//
// Pull: the paths PlanPull calls conflicts (and everything beneath them) are
// held — nothing is applied there, their base keeps its old entries (the
// base is incomplete, so every later pull plans them again, and a manual
// `hx sync pull --auto-merge <policy>` resolves them exactly as it would
// have without the agent); everything else is applied. The head's entries
// at and beneath the held paths are kept in the index (kMetaHeld), with the
// paths, and reported (PullReport::held).
//
// Push: on such a base, and only while the head is still the one that pull
// saw, the local changes at held paths are left out and the head's entries
// are published there instead — so the store keeps the other device's
// version, this device's version stays on its disk, unpublished, and the
// rest is published. The base keeps its old entries at the held paths
// (incomplete), so the conflict stays a conflict until resolved.
//
// Without hold_conflicts (every command), an incomplete base is refused by
// push as before.
//
// Thread-safety: pure functions, plus the index calls of Load/Save.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "index/index.h"
#include "repo/tree.h"

namespace hx {

// Index meta: canonical JSON {"paths":[...],"remote":{"<path>":<entry>}} or
// absent/empty when nothing is held.
inline constexpr std::string_view kMetaHeld = "held_conflicts";

struct HeldConflicts {
  std::vector<std::string> paths;  // sorted
  EntryMap remote;                 // the head's entries at and beneath `paths`
  bool empty() const { return paths.empty(); }
};

// `path` is one of `held` or beneath one.
bool IsHeld(const std::vector<std::string>& held, std::string_view path);

// Every entry of `entries` at or beneath a held path.
EntryMap HeldEntries(const std::vector<std::string>& held, const EntryMap& entries);

// Replaces the entries of `entries` at and beneath the held paths by those of
// `with` (entries `with` lacks are removed).
void ReplaceHeld(const std::vector<std::string>& held, const EntryMap& with, EntryMap& entries);

Result<HeldConflicts> LoadHeldConflicts(Index& index);
// Saves `held` (an empty one clears the record).
Status SaveHeldConflicts(Index& index, const HeldConflicts& held);

}  // namespace hx
