// The remote seam: how the agent (agent.h) learns that the store's head
// moved, without knowing how it was told. The agent asks Check when a check
// is due (NextCheckInMs) or when the notifier woke it; a true answer makes it
// pull. The hub (a later issue) plugs in here as one more implementation
// that is told by a push channel instead of looking.
//
// Implementations (MakeRemoteNotifier picks one per target):
//   conditional_get  polls head.json with Store::GetIfNoneMatch, so an
//                    unchanged head costs one bodiless 304 on S3. Adaptive:
//                    `active_interval_ms` (1 s) while changes flow (a change
//                    seen here, or NoteActivity after a local push), doubling
//                    up to `idle_interval_ms` (30 s) while nothing happens.
//   inotify          a folder store on a local file system: an inotify watch
//                    on the store folder reports head.json being replaced
//                    (the folder store renames a new head into place); a
//                    thread waits on it and calls the wake-up, so the agent
//                    hears of a push within milliseconds. A slow
//                    conditional_get poll (idle interval) stays on as a
//                    safety net (a network mount that never reports
//                    another machine's writes).
//   polling          a folder store where inotify is not available or not
//                    wanted (--poll): conditional_get's schedule on the file.
//   hub_feed         a hub target (hx://, hxs://): the hub's change feed
//                    wakes the agent at once (store/hub/hub_notifier.h),
//                    a conditional GET at the idle interval as a safety net.
//
// Requests are counted per hour (a sliding hour of check times) for status.
//
// Thread-safety: Check, NextCheckInMs, NoteActivity and the accessors are
// called from the agent's thread; the wake-up may be called from the
// notifier's own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.h"
#include "store/store.h"
#include "store/target_uri.h"

namespace hx {

struct RemoteNotifierOptions {
  std::int64_t active_interval_ms = 1000;
  std::int64_t idle_interval_ms = 30000;
  // Use the file watch for a folder store (false: polling only).
  bool watch_folder = true;
};

class RemoteNotifier {
 public:
  virtual ~RemoteNotifier() = default;

  // Looks at the head if a look is due at `now_ms` (or the watch reported a
  // change since the last look). True when the head changed since the
  // previous look (the first look only records the version: the agent pulls
  // at start anyway). Errors: the store's (a network failure: the agent
  // backs off; the notifier looks again at its next due time).
  virtual Result<bool> Check(std::int64_t now_ms) = 0;
  // Milliseconds from `now_ms` until the next look is due (0: now).
  virtual std::int64_t NextCheckInMs(std::int64_t now_ms) const = 0;
  // Changes are flowing (this device pushed or pulled): look again soon.
  virtual void NoteActivity(std::int64_t now_ms) = 0;
  // Calls `wake` (from any thread) when a look should be made at once.
  virtual void SetWakeup(std::function<void()> wake) = 0;

  virtual std::string_view mode() const = 0;
  // Requests made to the store in the hour before `now_ms`.
  virtual std::uint64_t RequestsLastHour(std::int64_t now_ms) = 0;
  // The current polling interval.
  virtual std::int64_t interval_ms() const = 0;
  // Requests made to the store since the notifier was made (for metrics).
  virtual std::uint64_t RequestsTotal() const = 0;
};

// The look every notifier makes: head.json read with GetIfNoneMatch against
// the version seen last, and the count of looks (all of them, and those of
// the last hour, for the agent's status and metrics).
class HeadLook {
 public:
  // True when the head changed since the previous look; the first look only
  // records the version. A missing head is a change only if there was one.
  Result<bool> Look(Store& store, std::int64_t now_ms);
  std::uint64_t RequestsLastHour(std::int64_t now_ms);
  std::uint64_t RequestsTotal() const { return requests_total_; }

 private:
  void Prune(std::int64_t now_ms);

  StoreVersion version_;
  bool looked_ = false;
  std::deque<std::int64_t> requests_;
  std::uint64_t requests_total_ = 0;
};

// The conditional-GET poll every notifier looks through: head.json read
// with GetIfNoneMatch when a look is due (the adaptive schedule above) or
// when Hint said the head moved. The notifiers that are told of changes
// (inotify, the hub's feed) are this poll plus the thread that calls Hint,
// on the SafetyNet schedule. `store` must outlive the notifier.
class PollingRemoteNotifier : public RemoteNotifier {
 public:
  PollingRemoteNotifier(Store& store, RemoteNotifierOptions options, std::string mode);

  Result<bool> Check(std::int64_t now_ms) override;
  std::int64_t NextCheckInMs(std::int64_t now_ms) const override;
  void NoteActivity(std::int64_t now_ms) override;
  void SetWakeup(std::function<void()> wake) override;
  std::string_view mode() const override { return mode_; }
  std::uint64_t RequestsLastHour(std::int64_t now_ms) override;
  std::int64_t interval_ms() const override { return interval_ms_; }
  std::uint64_t RequestsTotal() const override { return look_.RequestsTotal(); }

  // The head moved (from any thread, once SetWakeup has been called): the
  // next Check looks at once, and the wake-up is called.
  void Hint();

 private:
  Store& store_;
  const RemoteNotifierOptions options_;
  const std::string mode_;
  HeadLook look_;
  std::int64_t interval_ms_;
  std::int64_t next_due_ms_ = 0;  // the first look is due at once
  std::atomic<bool> hinted_{false};
  std::function<void()> wake_;
};

// The schedule of a notifier that is told of changes: the poll is only its
// safety net, so it looks at the idle interval throughout.
RemoteNotifierOptions SafetyNet(RemoteNotifierOptions options);

// Polls head.json of `store` with GetIfNoneMatch. `store` must outlive the
// notifier.
std::unique_ptr<RemoteNotifier> MakePollingRemoteNotifier(Store& store,
                                                          RemoteNotifierOptions options,
                                                          std::string mode = "conditional_get");

// The notifier for `target`: inotify on a folder store's directory (with
// the polling safety net) when options.watch_folder and inotify is
// available; polling otherwise. `store` must outlive the notifier.
std::unique_ptr<RemoteNotifier> MakeRemoteNotifier(const Target& target, Store& store,
                                                   RemoteNotifierOptions options);

}  // namespace hx
