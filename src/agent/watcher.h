// The watcher seam: how the agent (agent.h) learns that something in the
// vault changed, without knowing which platform facility told it. An adapter
// delivers normalized events; everything above this header (batching, the
// agent loop, status) is platform-free, so an FSEvents (macOS) or
// ReadDirectoryChangesW (Windows) adapter plugs in here without touching the
// engine.
//
// Adapters:
//   inotify   (Linux; inotify_watcher.h) recursive watches; a directory
//             created while watching is watched first and then scanned, so a
//             file created in it before the watch existed is reported too.
//   polling   (everywhere; polling_watcher.h) a periodic stat walk of the
//             vault compared with the previous one. The fallback when inotify
//             is not available, and the choice for network file systems.
//
// Contract of the events:
//   - Paths are vault-relative, '/'-separated, never empty, never under
//     `.hx/` (the adapter drops those), and not ignored by .hxignore at the
//     time they were seen (the rules are passed to the adapter; a change of
//     .hxignore itself is an event like any other).
//   - A move within the vault is kMovedFrom + kMovedTo with the same non-zero
//     cookie, delivered in the same Poll result, when the adapter could pair
//     them; an unpaired half is reported as kDeleted or kCreated.
//   - kOverflow (empty path) means events were lost (the kernel queue
//     overflowed, a watch could not be added because the watch limit was
//     reached, or the adapter was told to inject one): the consumer must
//     rescan the whole vault. `detail` says why, for status and the log.
//   - Events are hints, never the truth: the consumer always stats and
//     hashes what it will push; a spurious event costs a stat, a lost one is
//     what kOverflow is for.
//
// Thread-safety: Start and Poll are called from one thread (the agent's);
// Wake may be called from any thread or from a signal handler (it only
// writes to an eventfd/pipe) and makes a blocked Poll return early.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "scan/ignore.h"

namespace hx {

class Env;

enum class WatchEventKind {
  kCreated,
  kModified,    // content or metadata (mode, mtime) changed, or closed after write
  kDeleted,
  kMovedFrom,   // paired with a kMovedTo of the same cookie
  kMovedTo,
  kOverflow,    // events were lost: rescan everything
};

std::string_view WatchEventKindName(WatchEventKind kind);

struct WatchEvent {
  WatchEventKind kind = WatchEventKind::kModified;
  std::string path;          // vault-relative; empty for kOverflow
  bool is_dir = false;
  std::uint32_t cookie = 0;  // pairs kMovedFrom/kMovedTo; 0 otherwise
  std::string detail;        // kOverflow: why (for status and the log)
};

// What a watcher is currently doing, for `hx sync status`.
enum class WatcherMode {
  kInotify,
  kPolling,
  kOverflowed,  // the last Poll reported kOverflow and a rescan is due
};

std::string_view WatcherModeName(WatcherMode mode);

class Watcher {
 public:
  virtual ~Watcher() = default;

  // Begins watching `root` (the vault folder). Errors: the root cannot be
  // opened (KC_SYNC_STATE_FAILED / Category::kIo). A watch limit reached
  // during set-up is not an error: the first Poll returns kOverflow with the
  // reason and the adapter keeps whatever watches it has (the consumer
  // rescans, and the polling adapter can take over).
  virtual Status Start(const std::filesystem::path& root, const IgnoreRules& rules) = 0;

  // Waits up to `timeout_ms` (0: does not block) for events and returns
  // those available, possibly none (timeout or Wake). Never blocks longer
  // than the timeout.
  virtual Result<std::vector<WatchEvent>> Poll(int timeout_ms) = 0;

  // Replaces the ignore rules (after .hxignore changed).
  virtual void SetRules(const IgnoreRules& rules) = 0;

  // Makes a blocked Poll return. Async-signal-safe.
  virtual void Wake() = 0;

  virtual WatcherMode mode() const = 0;

  // For tests: the next Poll returns kOverflow with `detail`, as if the
  // kernel queue had overflowed (the adapter also drops what it had queued).
  virtual void InjectOverflow(std::string detail) = 0;
};

// The adapters. `env` is where the polling adapter stats (null:
// Env::Default()); `poll_interval_ms` is its period.
std::unique_ptr<Watcher> MakeInotifyWatcher();
std::unique_ptr<Watcher> MakePollingWatcher(int poll_interval_ms, Env* env = nullptr);
// inotify where the platform has it and `prefer_polling` is false; the
// polling adapter otherwise.
std::unique_ptr<Watcher> MakeDefaultWatcher(bool prefer_polling, int poll_interval_ms);

}  // namespace hx
