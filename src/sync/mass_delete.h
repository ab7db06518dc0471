// The mass-delete guard: a sync that would delete a large share of the
// vault, or whose vault folder looks vanished or emptied (an unmounted disk,
// a wiped folder), stops and changes nothing unless the user confirms.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "repo/tree.h"

namespace hx {

// Deletions below this many files never trip the share rule (deleting 2 of
// 3 files is ordinary); an emptied vault always does.
inline constexpr std::uint64_t kMassDeleteMinFiles = 5;

// Live files and symlinks (not directories, not tombstones) of a state.
std::uint64_t CountLiveFiles(const EntryMap& entries);

struct MassDeleteCheck {
  std::uint64_t live_before = 0;  // live files before the sync
  std::uint64_t deleting = 0;     // live files the sync would delete
  std::uint64_t live_after = 0;   // live files it would leave
  int max_share_pct = 50;
  bool confirmed = false;         // --allow-mass-delete
  const char* operation = "push"; // "push" or "pull", for the message
};

// OK, or KC_SYNC_STATE_FAILED (category invalid_input) explaining what would
// be deleted and how to confirm.
Status CheckMassDelete(const MassDeleteCheck& check);

}  // namespace hx
