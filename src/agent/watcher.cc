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

// inotify first; polling if inotify cannot start. Both adapters live as long
// as this object, so Wake (from any thread or a signal handler) always
// reaches a live adapter through the atomic pointer, even while Start
// switches.
class DefaultWatcher final : public Watcher {
 public:
  DefaultWatcher(bool prefer_polling, int poll_interval_ms)
      : prefer_polling_(prefer_polling), poll_interval_ms_(poll_interval_ms) {
    primary_ = prefer_polling ? MakePollingWatcher(poll_interval_ms) : MakeInotifyWatcher();
    active_.store(primary_.get());
  }

  Status Start(const std::filesystem::path& root, const IgnoreRules& rules) override {
    Status status = primary_->Start(root, rules);
    if (status.ok() || prefer_polling_) return status;
    fallback_ = MakePollingWatcher(poll_interval_ms_);
    HX_RETURN_IF_ERROR(fallback_->Start(root, rules));
    active_.store(fallback_.get());
    return OkStatus();
  }
  Result<std::vector<WatchEvent>> Poll(int timeout_ms) override {
    return active_.load()->Poll(timeout_ms);
  }
  void SetRules(const IgnoreRules& rules) override { active_.load()->SetRules(rules); }
  void Wake() override { active_.load()->Wake(); }
  WatcherMode mode() const override { return active_.load()->mode(); }
  void InjectOverflow(std::string detail) override {
    active_.load()->InjectOverflow(std::move(detail));
  }

 private:
  const bool prefer_polling_;
  const int poll_interval_ms_;
  std::unique_ptr<Watcher> primary_;
  std::unique_ptr<Watcher> fallback_;
  std::atomic<Watcher*> active_{nullptr};
};

}  // namespace

std::unique_ptr<Watcher> MakeDefaultWatcher(bool prefer_polling, int poll_interval_ms) {
  return std::make_unique<DefaultWatcher>(prefer_polling, poll_interval_ms);
}

}  // namespace hx
