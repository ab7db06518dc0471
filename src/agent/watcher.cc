// The seam's shared pieces: names, event descriptions and the default
// adapter (inotify, falling back to polling when inotify cannot start).
#include "agent/watcher.h"

#include <atomic>
#include <utility>

#include "agent/inotify_watcher.h"
#include "agent/polling_watcher.h"
#include "base/printable.h"

namespace hx {

std::string_view WatchEventKindName(WatchEventKind kind) {
  switch (kind) {
    case WatchEventKind::kCreated: return "created";
    case WatchEventKind::kModified: return "modified";
    case WatchEventKind::kDeleted: return "deleted";
    case WatchEventKind::kMovedFrom: return "moved_from";
    case WatchEventKind::kMovedTo: return "moved_to";
    case WatchEventKind::kOverflow: return "overflow";
  }
  return "unknown";
}

std::string_view WatcherModeName(WatcherMode mode) {
  switch (mode) {
    case WatcherMode::kInotify: return "inotify";
    case WatcherMode::kPolling: return "polling";
    case WatcherMode::kOverflowed: return "overflowed";
  }
  return "unknown";
}

std::string DescribeEvent(const WatchEvent& event) {
  std::string out(WatchEventKindName(event.kind));
  if (event.kind == WatchEventKind::kOverflow) {
    out += ": ";
    AppendPrintable(out, event.detail);
    return out;
  }
  out += ' ';
  AppendPrintable(out, event.path);
  if (event.is_dir) out += '/';
  if (event.cookie != 0) out += " cookie=" + std::to_string(event.cookie);
  if (event.write == WriteHint::kWriting) out += " (writing)";
  if (event.write == WriteHint::kClosed) out += " (closed)";
  return out;
}

std::unique_ptr<Watcher> MakeInotifyWatcher() { return MakeInotifyWatcher(InotifyOptions{}); }

std::unique_ptr<Watcher> MakePollingWatcher(int poll_interval_ms, Env* env) {
  PollingOptions options;
  options.interval_ms = poll_interval_ms;
  options.env = env;
  return MakePollingWatcher(options);
}

namespace {

// inotify first; polling if inotify cannot start, or once it has reached the
// watch limit. Both adapters live as long as this object, so Wake (from any
// thread or a signal handler) always reaches a live adapter through the
// atomic pointer, even while the adapters switch.
class DefaultWatcher final : public Watcher {
 public:
  DefaultWatcher(bool prefer_polling, InotifyOptions inotify, PollingOptions polling)
      : prefer_polling_(prefer_polling), polling_options_(polling) {
    primary_ = prefer_polling ? MakePollingWatcher(polling) : MakeInotifyWatcher(inotify);
    active_.store(primary_.get());
  }

  Status Start(const std::filesystem::path& root, const IgnoreRules& rules) override {
    root_ = root;
    rules_ = rules;
    Status status = primary_->Start(root, rules);
    if (status.ok() || prefer_polling_) return status;
    return SwitchToPolling();
  }
  Result<std::vector<WatchEvent>> Poll(int timeout_ms) override {
    Watcher* active = active_.load();
    Result<std::vector<WatchEvent>> events = active->Poll(timeout_ms);
    if (!events.ok() || active != primary_.get() || prefer_polling_ ||
        !InotifyWatchLimitReached(*primary_)) {
      return events;
    }
    // Some directories cannot be watched: inotify would miss their changes
    // until the limit is raised, so polling takes over. The overflow
    // reported now makes the consumer rescan what happened before.
    if (Status switched = SwitchToPolling(); !switched.ok()) return std::move(switched).error();
    for (WatchEvent& event : *events) {
      if (event.kind == WatchEventKind::kOverflow) {
        event.detail += "; hx watches this vault by polling now (every " +
                        std::to_string(polling_options_.interval_ms) + " ms)";
      }
    }
    return events;
  }
  void SetRules(const IgnoreRules& rules) override {
    rules_ = rules;
    active_.load()->SetRules(rules);
  }
  void Wake() override { active_.load()->Wake(); }
  WatcherMode mode() const override { return active_.load()->mode(); }
  void InjectOverflow(std::string detail) override {
    active_.load()->InjectOverflow(std::move(detail));
  }

 private:
  Status SwitchToPolling() {
    fallback_ = MakePollingWatcher(polling_options_);
    HX_RETURN_IF_ERROR(fallback_->Start(root_, rules_));
    active_.store(fallback_.get());
    // A Wake that reached the old adapter during the switch is not lost.
    fallback_->Wake();
    return OkStatus();
  }

  const bool prefer_polling_;
  const PollingOptions polling_options_;
  std::filesystem::path root_;
  IgnoreRules rules_;
  std::unique_ptr<Watcher> primary_;
  std::unique_ptr<Watcher> fallback_;
  std::atomic<Watcher*> active_{nullptr};
};

}  // namespace

std::unique_ptr<Watcher> MakeDefaultWatcher(bool prefer_polling, InotifyOptions inotify,
                                            PollingOptions polling) {
  return std::make_unique<DefaultWatcher>(prefer_polling, inotify, polling);
}

std::unique_ptr<Watcher> MakeDefaultWatcher(bool prefer_polling, int poll_interval_ms) {
  PollingOptions polling;
  polling.interval_ms = poll_interval_ms;
  return MakeDefaultWatcher(prefer_polling, InotifyOptions{}, polling);
}

}  // namespace hx
