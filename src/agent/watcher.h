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
//     rescan the whole vault. `detail` says why, for status and the log. A
//     Poll result with a kOverflow holds only kOverflow events (one per
//     distinct reason): the rescan covers the rest.
//   - A watch limit reached (inotify's fs.inotify.max_user_watches) is a
//     kOverflow whose detail names the limit and how to raise it; the
//     inotify adapter then stays in WatcherMode::kOverflowed (some
//     directories are not watched), and the default watcher switches to the
//     polling adapter.
//   - `write` says what the platform knows about a writer (WriteHint): the
//     batcher holds back a file still open for writing.
//   - Events are hints, never the truth: the consumer always stats and
//     hashes what it will push; a spurious event costs a stat, a lost one is
//     what kOverflow is for. Names are raw bytes: print them only through
//     base/printable.h.
//   - Bounded: one Poll returns at most kMaxEventsPerPoll events; more
//     become a kOverflow (a rescan is cheaper than an unbounded list).
//
// Thread-safety: Start, Poll, SetRules, InjectOverflow and mode are called
// from one thread (the agent's); Wake may be called from any thread or from a signal handler (it only
// writes to an eventfd/pipe) and makes a blocked Poll return early.
#pragma once

#include <cstddef>
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

// At most this many events per Poll result (see the contract above).
inline constexpr std::size_t kMaxEventsPerPoll = 100'000;

enum class WatchEventKind {
  kCreated,
  kModified,    // content or metadata (mode, mtime) changed, or closed after write
  kDeleted,
  kMovedFrom,   // paired with a kMovedTo of the same cookie
  kMovedTo,
  kOverflow,    // events were lost: rescan everything
};

std::string_view WatchEventKindName(WatchEventKind kind);

// What the adapter knows about writers of a file (kCreated / kModified).
enum class WriteHint : std::uint8_t {
  kUnknown,  // the platform cannot tell (polling, a scan, a metadata change)
  kWriting,  // written and, as far as the adapter knows, still open for
             // writing (inotify IN_MODIFY not yet followed by IN_CLOSE_WRITE)
  kClosed,   // a writer closed it (inotify IN_CLOSE_WRITE)
};

struct WatchEvent {
  WatchEventKind kind = WatchEventKind::kModified;
  std::string path;          // vault-relative; empty for kOverflow
  bool is_dir = false;
  std::uint32_t cookie = 0;  // pairs kMovedFrom/kMovedTo; 0 otherwise
  WriteHint write = WriteHint::kUnknown;
  std::string detail;        // kOverflow: why (for status and the log)
};

// "modified a/b.txt" etc., the path escaped (base/printable.h): for logs and
// test failures.
std::string DescribeEvent(const WatchEvent& event);

// What a watcher is currently doing, for `hx sync status`.
enum class WatcherMode {
  kInotify,
  kPolling,
  kOverflowed,  // the last Poll reported kOverflow (a rescan is due), or the
                // watch limit was reached (until the adapter is replaced)
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
  // than the timeout, except that the inotify adapter may wait 1 ms more to
  // pair the two halves of a move. Errors: the kernel interface failed
  // (KC_SYNC_STATE_FAILED / kIo); the consumer may switch adapters.
  virtual Result<std::vector<WatchEvent>> Poll(int timeout_ms) = 0;

  // Replaces the ignore rules (after .hxignore changed). Reports no events:
  // the consumer rescans after a rules change. The inotify adapter adds
  // watches for directories no longer ignored and drops those of
  // directories now ignored; the polling adapter compares its next walk with
  // the new rules' view of the old one.
  virtual void SetRules(const IgnoreRules& rules) = 0;

  // Makes a blocked Poll return. Async-signal-safe.
  virtual void Wake() = 0;

  virtual WatcherMode mode() const = 0;

  // For tests: the next Poll returns kOverflow with `detail`, as if the
  // kernel queue had overflowed (the adapter also drops what it had queued).
  virtual void InjectOverflow(std::string detail) = 0;
};

// The adapters, with default options (inotify_watcher.h and
// polling_watcher.h take more). `env` is where the polling adapter stats and
// whose clock() times its walks (null: Env::Default()); `poll_interval_ms`
// is its period.
std::unique_ptr<Watcher> MakeInotifyWatcher();
std::unique_ptr<Watcher> MakePollingWatcher(int poll_interval_ms, Env* env = nullptr);
// inotify where the platform has it and `prefer_polling` is false; the
// polling adapter otherwise, and also when inotify cannot be started (Start
// falls back to polling if inotify_init fails, e.g. the per-user instance
// limit) or once it reaches the watch limit (the Poll reporting that
// overflow switches, and its detail says so). mode() then says kPolling.
// inotify_watcher.h has a variant with the adapters' options.
std::unique_ptr<Watcher> MakeDefaultWatcher(bool prefer_polling, int poll_interval_ms);

}  // namespace hx
