// Batching: turns the watcher's stream of events into batches the agent
// pushes. Events are coalesced per path; a batch is due after a quiet period
// (no new event for `quiet_ms`, default 200 ms) or at the latest `max_delay_ms`
// (default 1 s) after its first event while changes keep coming. A file that
// is still being written (size or mtime still moving between two looks, or
// changed less than `settle_ms` ago) is held back from the batch and looked at
// again later, so a slow writer's file is pushed once, complete. Paths the
// agent itself just wrote (a pull applied them) are dropped, so a pull never
// causes a push back.
//
// Pure logic on `now_ms` (the agent's clock is an input): no thread, no
// sleeping. The stability look goes through the Env.
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
  // A file whose mtime is newer than this (relative to now) is not yet stable.
  std::int64_t settle_ms = 100;
};

struct Batch {
  // The changed paths, sorted and unique (a move contributes both names).
  std::vector<std::string> paths;
  // Events were lost (overflow): the whole vault must be rescanned.
  bool full_rescan = false;
  // Paths held back because they were still being written (re-queued).
  std::size_t deferred = 0;
};

class Batcher {
 public:
  explicit Batcher(BatchOptions options = {});

  // Adds one event seen at `now_ms`.
  void Add(const WatchEvent& event, std::int64_t now_ms);

  // The agent is about to write (or just wrote) `path`: events for it up to
  // `until_ms` are its own and are dropped.
  void IgnoreOwnWrite(const std::string& path, std::int64_t until_ms);

  // The batch due at `now_ms`, if one is: stats each path in `vault` through
  // `env` and holds back files still being written.
  std::optional<Batch> TakeDue(const std::filesystem::path& vault, Env& env, std::int64_t now_ms);

  // How long (ms from `now_ms`) until a batch may be due; nullopt when
  // nothing is queued. The agent's Poll timeout.
  std::optional<std::int64_t> NextDueInMs(std::int64_t now_ms) const;

  // Paths queued (for status: the queue depth).
  std::size_t depth() const;
};

}  // namespace hx
