// The portable adapter of the watcher seam (watcher.h): a periodic stat walk
// of the vault compared with the previous walk. The fallback where inotify
// is missing or its watch limit was reached, and the choice for network file
// systems (where inotify does not see other clients' changes).
//
// Start records the baseline walk and reports nothing. Each later walk (due
// every `interval_ms` on the Env's clock, Env::clock().Monotonic(), or later
// if the walks are slow: see min_idle_factor; a Poll that finds no walk due
// waits for it, at most its timeout) compares every
// entry's type, size, mtime (ns), mode and inode with the previous walk:
//   - a new path is kCreated, a vanished one kDeleted, a changed one
//     kModified (a directory only when its mode changed: its mtime moves with
//     its entries, which are reported themselves);
//   - a vanished path and a new path with the same inode and type (for a
//     file also the same size and mtime) are one move (kMovedFrom +
//     kMovedTo with a fresh cookie); a directory moved brings its entries'
//     moves too;
//   - write hints are always kUnknown (the batcher then looks twice).
// `.hx/` and ignored paths are neither walked nor reported. Nothing is
// hashed: a walk is one lstat per entry and one listing per directory, so a
// 100,000-file vault costs a few hundred milliseconds per walk (about 0.2 s
// of CPU) and about 10 MB for the previous walk (20 MB at the peak of a
// comparison). Unreadable directories are
// skipped (their entries are then neither created nor deleted: a directory
// that could not be listed keeps its previous entries).
//
// Thread-safety: as Watcher.
#pragma once

#include <cstdint>
#include <memory>

#include "agent/watcher.h"

namespace hx {

class Env;

struct PollingOptions {
  // The period of the walks. 0: every Poll walks.
  std::int64_t interval_ms = 2000;
  // The wait after a walk is at least this many times the walk's own
  // duration, so that polling a vault too large for `interval_ms` costs at
  // most about 1/(factor+1) of a core (5% at 20) instead of all of it.
  // 0: no such bound (tests on a fake clock).
  std::int64_t min_idle_factor = 20;
  // Where the walk stats and whose clock times it (null: Env::Default()).
  Env* env = nullptr;
};

std::unique_ptr<Watcher> MakePollingWatcher(PollingOptions options);

}  // namespace hx
