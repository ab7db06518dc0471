// Batching: turns the watcher's stream of events into batches the agent
// pushes. Events are coalesced per path; a batch is due after a quiet period
// (no new event for `quiet_ms`, default 200 ms) or at the latest `max_delay_ms`
// (default 1 s) after its first event while changes keep coming. A file that
// is still being written is held back from the batch and looked at again
// later, so a slow writer's file is pushed once, complete; the rest of the
// batch goes without it. Paths the agent itself just wrote (a pull applied
// them) are dropped, so a pull never causes a push back.
//
// Stability, per regular file in a due batch (one lstat through the Env):
//   - open for writing (its last write hint was WriteHint::kWriting) -> held
//     until an event says it was closed, or for at most `max_hold_ms`;
//   - mtime less than `settle_ms` before now (a future mtime does not
//     count) -> held, looked at again `settle_ms` later;
//   - unless its last hint was kClosed (the writer is done), two looks are
//     needed: the first records size and mtime and holds it `settle_ms`; the
//     next releases it if both are unchanged, else records and holds again;
//   - held for `max_hold_ms` in all -> released anyway (a file that never
//     settles, like a log, is still synced now and then).
// A file moved into place (kMovedTo without a hint) counts as closed: rename(2)
// is how editors and downloaders publish a finished file; unless its old
// name was open for writing. Deleted paths, directories and symlinks are
// released at once.
//
// Pure logic on `now_ms`, the agent's wall clock in ms since the epoch
// (Clock::WallMs: the mtime check compares it with file times): no thread,
// no sleeping, no clock of its own. A `now_ms` earlier than the last one
// seen (the wall clock stepped back) moves every stored time back by the
// step, as if no time had passed since the last call, so no batch stalls; a
// step forward only makes batches due early.
//
// Bounds: one entry per queued path and per own write not yet expired
// (expired ones are pruned on every TakeDue).
//
// Thread-safety: one thread (the agent's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/watcher.h"

namespace hx {

class Env;

struct BatchOptions {
  std::int64_t quiet_ms = 200;
  std::int64_t max_delay_ms = 1000;
  // A file whose mtime is newer than this (relative to now) is not yet
  // stable; also the wait between two looks at a file.
  std::int64_t settle_ms = 100;
  // The longest a file is held back for being written.
  std::int64_t max_hold_ms = 30'000;
};

struct Batch {
  // The changed paths, sorted and unique (a move contributes both names).
  std::vector<std::string> paths;
  // Events were lost (overflow): the whole vault must be rescanned. `paths`
  // is then empty (the queue is cleared: the rescan covers it).
  bool full_rescan = false;
  // kOverflow's detail(s), for status and the log ("" when no overflow).
  std::string rescan_reason;
  // Paths held back because they were still being written (still queued).
  std::size_t deferred = 0;
};

class Batcher {
 public:
  explicit Batcher(BatchOptions options = {});

  // Adds one event seen at `now_ms`. kOverflow asks for a full rescan.
  void Add(const WatchEvent& event, std::int64_t now_ms);

  // The agent is about to write (or just wrote) `path`: events for it up to
  // `until_ms` are its own and are dropped. Register every path a pull
  // creates, directories included (the watcher reports the contents of a
  // new directory too).
  void IgnoreOwnWrite(const std::string& path, std::int64_t until_ms);

  // The batch due at `now_ms`, if one is: stats each path in `vault` through
  // `env` and holds back files still being written. nullopt when nothing is
  // due, or when everything due was held back (depth() still counts those).
  std::optional<Batch> TakeDue(const std::filesystem::path& vault, Env& env, std::int64_t now_ms);

  // How long (ms from `now_ms`, >= 0) until a batch may be due; nullopt when
  // nothing is queued. The agent's Poll timeout.
  std::optional<std::int64_t> NextDueInMs(std::int64_t now_ms) const;

  // Paths queued, held-back ones included (for status: the queue depth).
  std::size_t depth() const;

 private:
  struct Pending {
    std::int64_t first_ms = 0;     // first event since it was queued or re-armed
    std::int64_t last_ms = 0;      // latest event
    bool open = false;             // last hint kWriting (no kClosed since)
    bool closed = false;           // last hint kClosed
    bool looked = false;           // `size`/`mtime_ns` hold the previous look
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t held_since_ms = -1;  // first held back; -1 never
    std::int64_t recheck_ms = -1;     // held: look again at; -1 not held
  };

  // Takes `now_ms` as the current time (rebasing stored times on a step back).
  std::int64_t Clamp(std::int64_t now_ms);
  void Queue(const std::string& path, WriteHint hint, std::int64_t now_ms);
  bool IsOwn(const std::string& path, std::int64_t now_ms) const;
  bool FreshDue(std::int64_t now_ms) const;
  // Whether `pending` (path `path`) may go into the batch now; else updates
  // its hold.
  bool Stable(const std::filesystem::path& vault, Env& env, const std::string& path,
              Pending& pending, std::int64_t now_ms);

  BatchOptions options_;
  std::map<std::string, Pending> queue_;
  std::map<std::string, std::int64_t> own_until_;
  bool rescan_ = false;
  std::string rescan_reason_;
  std::int64_t rescan_first_ms_ = 0;
  std::int64_t rescan_last_ms_ = 0;
  std::uint32_t moved_from_cookie_ = 0;  // the last kMovedFrom's cookie
  bool moved_from_open_ = false;         // ... and whether its path was open
  std::int64_t max_now_ms_ = 0;  // the last now_ms seen
};

}  // namespace hx
