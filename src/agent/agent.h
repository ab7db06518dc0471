// The sync agent: `hx sync watch`. For one vault it runs until stopped,
// pushing local changes and pulling remote ones through the same engine
// calls as the commands (SyncPush, SyncPull: the same symlink-safe apply,
// the same Env, the same locks), so it can never do what a user typing
// push and pull at the right moments could not.
//
// The loop (one thread):
//   wait   Watcher::Poll with a timeout: the earliest of the batcher's due
//          time, the remote notifier's next look and the backoff's retry
//          time (a remote wake-up or Stop cut the wait short)
//   queue  events go into the Batcher; kOverflow (or a watch limit) makes a
//          full rescan due and is counted and logged, never silent
//   cycle  when a batch is due or a rescan is pending: push (the engine
//          scans against the index's baseline, so it finds every change,
//          whatever the events said); when the notifier saw the head move:
//          pull. A push the store has overtaken is followed by a pull and
//          another push. What a pull applied is recorded as it was left
//          (SyncOptions::on_applied -> Batcher::RecordOwnWrite): its events
//          are dropped while the path is still so, and a change after that
//          is the user's, batched at once; the index's baseline holds what
//          was pulled, so a pull never causes a push back.
//   faults network errors and a vault busy with another hx process
//          (KC_SYNC_LOCKED): exponential backoff with seeded jitter, then the
//          whole cycle again. A conflict under policy `none` holds only the
//          conflicting paths (SyncOptions::hold_conflicts, sync/hold.h: the
//          pull applies everything else, the push publishes this device's
//          other changes and the store's version at the held paths); status
//          lists them until the user resolves them (hx sync pull
//          --auto-merge <policy>). The mass-delete guard (or a conflict the
//          engine cannot hold: manual_per_item without decisions) pauses
//          the vault. Pauses wait for the user and are retried only when
//          something new happens (an event or a remote change), never on a
//          timer, so nothing loops. A configured policy (keep_both, ...) is
//          simply passed to the engine, which applies it.
//   status .hx/agent.json after each cycle and each change of state
//          (agent_status.h).
//
// Crash safety is the engine's: every cycle is a push or a pull, each
// all-or-nothing and resumable, so an agent killed at any point is
// restarted with a push and a pull from what the index says (at-least-once,
// idempotent: what the store has is not uploaded again).
//
// Time comes only from the Clock in the options (now_ms is passed to the
// engine), so the loop's schedule is an input.
//
// Thread-safety: Run on one thread; Stop from any thread or a signal
// handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/agent_status.h"
#include "agent/batcher.h"
#include "agent/remote_notifier.h"
#include "agent/watcher.h"
#include "base/clock.h"
#include "base/error.h"
#include "obs/metrics.h"
#include "obs/metrics_server.h"
#include "sync/engine.h"

namespace hx {

struct AgentOptions {
  std::filesystem::path vault;
  // Target options, passphrase, merge policy, Env and Clock as for the
  // commands; now_ms is set by the agent for each operation. `clock` must
  // be set (the CLI passes the real one).
  SyncOptions sync;
  // Run one cycle (pull, push) and return.
  bool once = false;
  // The polling watcher instead of inotify (network file systems).
  bool poll = false;
  int poll_interval_ms = 1000;
  BatchOptions batch;
  RemoteNotifierOptions remote;
  // Backoff after a failed cycle: initial * 2^(n-1), at most max, times a
  // jitter factor in [0.5, 1) drawn from a generator seeded with `seed`.
  std::int64_t backoff_initial_ms = 500;
  std::int64_t backoff_max_ms = 60'000;
  std::uint64_t seed = 1;
  // Scoped pushes: a batch's push scans only the batch's paths
  // (SyncOptions::scope). The whole folder is scanned at start, after an
  // overflow, when .hxignore changed, after a pull that changed the
  // folder, when more than `max_scoped_paths` paths are pending, and at
  // least every `full_rescan_interval_ms` (the backstop for a change no
  // event reported; 0: never).
  std::int64_t full_rescan_interval_ms = 15 * 60'000;
  std::size_t max_scoped_paths = 10'000;
  // The longest single wait (the loop wakes at least this often).
  std::int64_t max_wait_ms = 60'000;
  // Threads of the agent's folder scans (SyncOptions::scan_threads; 0: as
  // the commands, one per core up to 8). One by default: a background agent
  // leaves the other cores to the user, and one thread allocates from one
  // allocator arena, which keeps the start's peak RSS at 100,000 files
  // ~14 MB lower (docs/BENCHMARKS.md); its scans are mostly of a batch's
  // few directories anyway.
  int scan_threads = 1;
  // For tests: the first events after the first cycle are dropped and the
  // watcher reports an overflow (as if the kernel queue had overflowed).
  bool inject_overflow = false;
  // One line per event of note (start, cycles, errors, pauses, overflows,
  // "queued <path> at <ms>" for the detection-latency benchmark). Null:
  // silent.
  std::function<void(std::string_view)> log;
  // Replaces the watcher (tests); null: inotify or polling per `poll`.
  std::unique_ptr<Watcher> watcher;
  // Serve GET /metrics (Prometheus text) on this loopback address
  // ("127.0.0.1:9464"; port 0: a free one) for the agent's whole life
  // (obs/metrics_server.h); "": no listener. The bound address is in the
  // status (metrics_address) and the log.
  std::string metrics_address;
  // The registry the agent's figures go to (agent_metrics.h) and the
  // listener serves; null: the process's (obs::DefaultMetrics(), where the
  // engine records its store and sync metrics).
  obs::MetricsRegistry* metrics = nullptr;
};

class Agent {
 public:
  // Takes the agent lock (a second agent: KC_SYNC_LOCKED), opens the
  // remote notifier's store and starts the watcher. Nothing is synced yet.
  static Result<std::unique_ptr<Agent>> Start(AgentOptions options);

  ~Agent();

  // Runs the loop until Stop (or one cycle with `once`). Returns OK when
  // stopped; an error only when the agent cannot go on at all (the vault
  // vanished, the watcher failed). A failed cycle is not an error of Run.
  Status Run();

  // Asks Run to return after the current cycle. Async-signal-safe.
  void Stop();

  // The status as last written (tests read counters from it).
  const AgentStatus& status() const { return status_; }

 private:
  explicit Agent(AgentOptions options, AgentLock lock);

  struct CycleNeeds {
    bool push = false;
    bool pull = false;
  };

  std::int64_t Now() { return options_.sync.clock->WallMs(); }
  void Log(const std::string& line);
  void Count(const std::string& name, std::uint64_t n = 1) {
    status_.counters[name] += n;
    metrics_.Count(name, n);
  }
  // The gauges of the metrics (queue depth, watcher mode, ...), from the
  // agent's state of the moment.
  void UpdateGauges();
  void SaveStatus();
  SyncOptions OperationOptions();
  // One path a pull applied: recorded for the own-write filter.
  void RecordOwnWrite(const AppliedPath& applied);
  // The batcher's own-write figures into the counters; true if they moved.
  bool CountOwnWrites();

  // Drains events into the batcher; returns false if the watcher failed.
  Status TakeEvents(int timeout_ms);
  // One cycle: pull and/or push as needed; updates backoff and pauses.
  void RunCycle(CycleNeeds needs);
  Status Pull();
  Status Push(bool& behind);
  void OnCycleFailed(const Error& error);
  void OnCycleSucceeded();
  std::int64_t WaitMs(std::int64_t now_ms) const;

  AgentOptions options_;
  AgentLock lock_;
  std::unique_ptr<Watcher> watcher_;
  std::unique_ptr<Store> notifier_store_;
  std::unique_ptr<RemoteNotifier> notifier_;
  Batcher batcher_;
  AgentStatus status_;
  AgentMetrics metrics_;
  std::unique_ptr<obs::MetricsServer> metrics_server_;
  std::atomic<bool> stop_{false};
  std::mt19937_64 random_;
  // A full rescan (overflow) is pending.
  bool rescan_ = false;
  // What the next push scans: the whole folder, or the paths of the
  // batches since the last push that succeeded (kept until one does).
  bool scope_full_ = true;
  std::set<std::string> scope_paths_;
  std::int64_t last_full_push_ms_ = 0;
  // Paths the pulls applied (SyncOptions::on_applied), and the batcher's
  // own-write figures already counted.
  std::uint64_t applied_items_ = 0;
  std::uint64_t own_ignored_seen_ = 0;
  std::uint64_t own_changed_seen_ = 0;
  // A cycle is wanted regardless of events (start, a failed cycle's retry).
  bool retry_pending_ = true;
  bool remote_pending_ = true;
  std::optional<std::int64_t> retry_at_ms_;
  // Paused (conflict under none, mass delete): no cycle until something new
  // happens.
  bool paused_ = false;
  bool injected_overflow_ = false;
  bool drop_next_events_ = false;
  // The conflicting paths the last pull held (policy none).
  std::vector<std::string> held_paths_;
  // The last pull changed the folder (a push follows in the same cycle).
  bool pulled_changes_ = false;
};

}  // namespace hx
