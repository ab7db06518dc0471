// Batching: turns the watcher's stream of events into batches the agent
// pushes. Events are coalesced per path; a batch is due after a quiet period
// (no new event for `quiet_ms`, default 200 ms) or at the latest `max_delay_ms`
// (default 1 s) after its first event while changes keep coming. A file that
// is still being written is held back from the batch and looked at again
// later, so a slow writer's file is pushed once, complete; the rest of the
// batch goes without it.
//
// The agent's own writes (the own-write filter): for every path a pull
// applied, the agent records what the pull left there (RecordOwnWrite: a
// file's lstat right after it was renamed into place, a directory's inode,
// or "absent" for a deletion). A queued path with a record is looked at
// (lstat) when its batch is due: while it is still exactly as installed
// (type, inode, size, mtime_ns, ctime_ns; a directory: type and inode) the
// event was the pull's own and is dropped; once it differs, the record is
// forgotten and the path is a user change, batched like any other — however
// soon after the pull the user edited it. A record is forgotten when it
// stops matching, when the same path is recorded again, `own_write_ttl_ms`
// after it was made, and there are at most `max_own_writes` (more are not
// recorded). Forgetting is never a correctness matter: an own event queued
// without a record makes a push that finds nothing to publish (the index's
// baseline already holds what the pull installed). The one blind spot is
// the stat's: an edit in place that keeps the size and lands within the
// same timestamp tick as the install (a few ms) looks unchanged, as it does
// to the stat cache of every push; the periodic full rescan is its backstop.
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
// Bounds: one entry per queued path, and at most `max_own_writes` own-write
// records (expired ones are pruned on every TakeDue).
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

#include <sys/stat.h>

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
  // How long an own-write record is kept at most, and how many are kept
  // (see the file comment: neither decides correctness).
  std::int64_t own_write_ttl_ms = 60'000;
  std::size_t max_own_writes = 20'000;
};

// What a pull left at a path, as lstat sees it (the own-write filter).
struct OwnWrite {
  enum class Kind { kAbsent, kFile, kDir, kOther };
  Kind kind = Kind::kAbsent;
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  // The record of an lstat result (null: nothing there).
  static OwnWrite Of(const struct stat* st);
  // Whether `now` (an lstat result, null: nothing there) is still this.
  bool Matches(const struct stat* now) const;
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

  // A pull applied `path` and left `installed` there (at `now_ms`): events
  // for it are dropped while it stays so. Record every path a pull applies,
  // directories and deletions included (the watcher reports the contents
  // of a new directory too).
  void RecordOwnWrite(const std::string& path, const OwnWrite& installed, std::int64_t now_ms);
  // Since the batcher was made: queued paths dropped because they were
  // still as a pull installed them, and recorded paths found changed.
  std::uint64_t own_writes_ignored() const { return own_ignored_; }
  std::uint64_t own_writes_changed() const { return own_changed_; }
  // Own-write records held.
  std::size_t own_writes() const { return own_.size(); }

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
  bool FreshDue(std::int64_t now_ms) const;
  // Whether `pending`, whose lstat is `st` (null: gone or unreadable), may
  // go into the batch now; else updates its hold.
  bool Stable(const struct stat* st, Pending& pending, std::int64_t now_ms);

  struct OwnRecord {
    OwnWrite installed;
    std::int64_t recorded_ms = 0;
  };

  BatchOptions options_;
  std::map<std::string, Pending> queue_;
  std::map<std::string, OwnRecord> own_;
  std::uint64_t own_ignored_ = 0;
  std::uint64_t own_changed_ = 0;
  bool rescan_ = false;
  std::string rescan_reason_;
  std::int64_t rescan_first_ms_ = 0;
  std::int64_t rescan_last_ms_ = 0;
  std::uint32_t moved_from_cookie_ = 0;  // the last kMovedFrom's cookie
  bool moved_from_open_ = false;         // ... and whether its path was open
  std::int64_t max_now_ms_ = 0;  // the last now_ms seen
};

}  // namespace hx
