// The portable adapter of the watcher seam (watcher.h): a periodic stat walk
// of the vault compared with the previous walk. The fallback where inotify
// is missing or its watch limit was reached, and the choice for network file
// systems (where inotify does not see other clients' changes).
//
// Start records the baseline walk and reports nothing. Each later walk (due
// every `interval_ms` on the Env's clock, Env::clock().Monotonic(); a Poll
// that finds no walk due waits for it, at most its timeout) compares every
// entry's type, size, mtime (ns), mode and inode with the previous walk:
//   - a new path is kCreated, a vanished one kDeleted, a changed one
//     kModified (a directory only when its mode changed: its mtime moves with
//     its entries, which are reported themselves);
//   - a vanished path and a new path with the same inode, type and size are
//     one move (kMovedFrom + kMovedTo with a fresh cookie);
//   - write hints are always kUnknown (the batcher then looks twice).
// `.hx/` and ignored paths are neither walked nor reported. Nothing is
// hashed: a walk is one lstat per entry and one listing per directory, so a
// 100,000-file vault costs a few hundred milliseconds per walk and a few
// megabytes of memory for the previous walk. Unreadable directories are
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
  // Where the walk stats and whose clock times it (null: Env::Default()).
  Env* env = nullptr;
};

std::unique_ptr<Watcher> MakePollingWatcher(PollingOptions options);

}  // namespace hx
