// Makes a pull's staged files durable without flushing the rest of the file
// system (issue 15, item 2): each staged file gets an fdatasync of its own,
// issued by a small pool of worker threads while the applier goes on
// fetching, decrypting and writing the next files, and each directory a
// pull renamed into gets one fsync at the end (SyncDirs).
//
// A syncfs (what a pull did before) writes back every dirty page of the
// file system, so a pull waited for other programs' writes too. Several
// fdatasyncs in flight at once share the file system's journal commits
// (ext4's jbd2 batches concurrent ones), so a pool costs about one commit
// per batch instead of one per file.
//
// Files are handed over in batches of kBatch, and a batch is synced on a
// worker only once a batch is full: a pull of a few files syncs them on the
// caller's thread in Wait(), in order (the local fault sweep counts calls
// on one thread). The number of batches queued is bounded, so the open
// descriptors are too: Add blocks while kMaxQueued batches wait.
//
// Thread-safety: Add and Wait from one thread (the applier); the workers
// are internal.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "os/env.h"

namespace hx {

class StagedSyncer {
 public:
  static constexpr std::size_t kBatch = 64;
  static constexpr std::size_t kMaxQueued = 8;

  // `threads` workers at most (started when the first batch is full).
  explicit StagedSyncer(Env& env, int threads = 4);
  ~StagedSyncer();
  StagedSyncer(const StagedSyncer&) = delete;
  StagedSyncer& operator=(const StagedSyncer&) = delete;

  // Takes the descriptor of a file just written (fsync'ed with fdatasync,
  // then closed) or of a directory (`full`: fsync). `tag` names it in
  // Wait's answer.
  void Add(std::uint64_t tag, Fd fd, bool full = false);

  // Waits until every descriptor added is synced and closed; returns the
  // tags whose sync (or close) failed, with the errno. The syncer may be
  // used again after.
  std::map<std::uint64_t, int> Wait();

 private:
  struct Item {
    std::uint64_t tag = 0;
    Fd fd;
    bool full = false;
  };
  using Batch = std::vector<Item>;

  void SyncBatch(Batch& batch);
  void Work();

  Env& env_;
  const int max_threads_;
  Batch current_;  // the caller's, not yet handed over
  std::mutex mu_;
  std::condition_variable cv_;       // work queued, or stopping
  std::condition_variable done_cv_;  // a batch done (room in the queue, or all done)
  std::deque<Batch> queue_;          // guarded by mu_
  std::size_t in_flight_ = 0;        // batches queued or being synced; guarded by mu_
  std::map<std::uint64_t, int> failed_;  // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace hx
