// The Linux adapter of the watcher seam (watcher.h): inotify, used directly.
//
// Start walks the vault (through the Env, never following a symlink, never
// entering `.hx/` or an ignored directory) and puts one watch on every
// directory. While watching:
//   - A directory created or moved in is watched first and then listed, and
//     everything already inside it (recursively) is reported kCreated, so a
//     file written between the mkdir and the watch is not lost (a file seen
//     both ways is reported twice; events are hints).
//   - IN_MOVED_FROM / IN_MOVED_TO with the same cookie become one move
//     (kMovedFrom + kMovedTo); a directory moved within the vault keeps its
//     watches (renamed). An unpaired IN_MOVED_FROM (moved out of the vault)
//     is kDeleted and, for a directory, its watches are dropped; an unpaired
//     IN_MOVED_TO (moved in) is kCreated.
//   - IN_CLOSE_WRITE is kModified with WriteHint::kClosed, IN_MODIFY
//     kModified with kWriting, IN_ATTRIB kModified with kUnknown; several
//     kModified of one path in one Poll become one (the latest hint).
//   - IN_Q_OVERFLOW is kOverflow. inotify_add_watch failing with ENOSPC (the
//     per-user watch limit, fs.inotify.max_user_watches) is kOverflow whose
//     detail names the limit, its value and how to raise it; the adapter
//     stays kOverflowed. A directory that vanishes before its watch is added,
//     or cannot be read, is skipped (the scanner reports what it cannot
//     read).
//   - A watch whose directory is deleted (IN_IGNORED) is forgotten. The vault
//     root itself moved or deleted is a kOverflow.
//
// Bounds: the kernel is read through one 64 KiB buffer, at most 16 reads per
// Poll (the rest stays queued in the kernel for the next Poll); one Poll
// returns at most kMaxEventsPerPoll events (more: kOverflow); the maps hold
// one entry per watched directory, at most the watch limit.
//
// Thread-safety: as Watcher (Wake from anywhere; the rest from one thread).
#pragma once

#include <cstddef>
#include <memory>

#include "agent/polling_watcher.h"
#include "agent/watcher.h"

namespace hx {

class Env;

struct InotifyOptions {
  // Where directories are opened and listed (null: Env::Default()).
  Env* env = nullptr;
  // For tests: inotify_add_watch behaves as if it failed with ENOSPC once
  // this many watches exist, as when fs.inotify.max_user_watches is reached.
  // 0: only the kernel's limit.
  std::size_t max_watches = 0;
};

std::unique_ptr<Watcher> MakeInotifyWatcher(InotifyOptions options);

// Whether `watcher`, made by MakeInotifyWatcher, has reached the watch limit
// (it cannot see every directory until the limit is raised). False for any
// other watcher.
bool InotifyWatchLimitReached(const Watcher& watcher);

// The default watcher of watcher.h with options for its adapters: inotify
// unless `prefer_polling`; polling if inotify cannot start, and from the Poll
// that reports the watch limit on (its overflow detail then says so; mode()
// says kPolling from then on).
std::unique_ptr<Watcher> MakeDefaultWatcher(bool prefer_polling, InotifyOptions inotify,
                                            PollingOptions polling);

}  // namespace hx
