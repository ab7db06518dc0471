#include "agent/remote_notifier.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "meta/head.h"
#include "store/hub/hub_notifier.h"

namespace hx {
namespace {

constexpr std::int64_t kHourMs = 3600 * 1000;
// head.json is a few hundred bytes; anything larger is not a head.
constexpr std::uint64_t kMaxWatchedHeadBytes = 64 * 1024;

}  // namespace

Result<bool> HeadLook::Look(Store& store, std::int64_t now_ms) {
  requests_.push_back(now_ms);
  ++requests_total_;
  Prune(now_ms);
  auto read = store.GetIfNoneMatch(kHeadKey, version_, kMaxWatchedHeadBytes);
  bool changed = false;
  if (!read.ok()) {
    if (read.error().category != Category::kNotFound) return read.error();
    // No head (an empty vault, or a head being replaced): a change only if
    // there was one before.
    changed = looked_ && !version_.empty();
    version_.clear();
  } else if (read->has_value()) {
    changed = looked_;
    version_ = std::move((*read)->second);
  }
  looked_ = true;
  return changed;
}

std::uint64_t HeadLook::RequestsLastHour(std::int64_t now_ms) {
  Prune(now_ms);
  return requests_.size();
}

void HeadLook::Prune(std::int64_t now_ms) {
  while (!requests_.empty() && requests_.front() <= now_ms - kHourMs) requests_.pop_front();
}

PollingRemoteNotifier::PollingRemoteNotifier(Store& store, RemoteNotifierOptions options,
                                             std::string mode)
    : store_(store),
      options_(options),
      mode_(std::move(mode)),
      interval_ms_(options.active_interval_ms) {}

Result<bool> PollingRemoteNotifier::Check(std::int64_t now_ms) {
  const bool hinted = hinted_.exchange(false);
  if (!hinted && now_ms < next_due_ms_) return false;
  Result<bool> look = look_.Look(store_, now_ms);
  if (!look.ok()) {
    next_due_ms_ = now_ms + interval_ms_;
    return look.error();
  }
  const bool changed = *look;
  interval_ms_ =
      changed ? options_.active_interval_ms : std::min(options_.idle_interval_ms, interval_ms_ * 2);
  next_due_ms_ = now_ms + interval_ms_;
  return changed;
}

std::int64_t PollingRemoteNotifier::NextCheckInMs(std::int64_t now_ms) const {
  if (hinted_.load()) return 0;
  return std::max<std::int64_t>(0, next_due_ms_ - now_ms);
}

void PollingRemoteNotifier::NoteActivity(std::int64_t now_ms) {
  interval_ms_ = options_.active_interval_ms;
  next_due_ms_ = std::min(next_due_ms_, now_ms + interval_ms_);
}

void PollingRemoteNotifier::SetWakeup(std::function<void()> wake) { wake_ = std::move(wake); }

std::uint64_t PollingRemoteNotifier::RequestsLastHour(std::int64_t now_ms) {
  return look_.RequestsLastHour(now_ms);
}

void PollingRemoteNotifier::Hint() {
  hinted_.store(true);
  if (wake_) wake_();
}

RemoteNotifierOptions SafetyNet(RemoteNotifierOptions options) {
  options.active_interval_ms = options.idle_interval_ms;
  return options;
}

namespace {

// inotify on the folder store's directory, over the poll (at the idle
// interval) as the safety net and for the actual look.
class FolderRemoteNotifier final : public PollingRemoteNotifier {
 public:
  static std::unique_ptr<FolderRemoteNotifier> Make(const std::filesystem::path& dir, Store& store,
                                                    RemoteNotifierOptions options) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return nullptr;
    if (::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) < 0) {
      ::close(fd);
      return nullptr;
    }
    const int stop = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop < 0) {
      ::close(fd);
      return nullptr;
    }
    return std::unique_ptr<FolderRemoteNotifier>(
        new FolderRemoteNotifier(fd, stop, store, SafetyNet(options)));
  }

  ~FolderRemoteNotifier() override {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    ::close(inotify_fd_);
    ::close(stop_fd_);
  }

  void SetWakeup(std::function<void()> wake) override {
    PollingRemoteNotifier::SetWakeup(std::move(wake));
    if (!thread_.joinable()) thread_ = std::thread([this] { WatchLoop(); });
  }

 private:
  FolderRemoteNotifier(int inotify_fd, int stop_fd, Store& store, RemoteNotifierOptions options)
      : PollingRemoteNotifier(store, options, "inotify"),
        inotify_fd_(inotify_fd),
        stop_fd_(stop_fd) {}

  void WatchLoop() {
    alignas(inotify_event) char buf[16 * 1024];
    for (;;) {
      pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      bool head = false;
      for (;;) {
        const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t at = 0; at < n;) {
          const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
          if ((event->mask & IN_Q_OVERFLOW) != 0 ||
              (event->len > 0 && std::strcmp(event->name, "head.json") == 0)) {
            head = true;
          }
          at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
      }
      if (head) Hint();
    }
  }

  const int inotify_fd_;
  const int stop_fd_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<RemoteNotifier> MakePollingRemoteNotifier(Store& store,
                                                          RemoteNotifierOptions options,
                                                          std::string mode) {
  return std::make_unique<PollingRemoteNotifier>(store, options, std::move(mode));
}

std::unique_ptr<RemoteNotifier> MakeRemoteNotifier(const Target& target, Store& store,
                                                   RemoteNotifierOptions options) {
  if (target.kind == TargetKind::kFolder) {
    if (options.watch_folder) {
      if (auto watched = FolderRemoteNotifier::Make(target.path, store, options)) return watched;
    }
    return MakePollingRemoteNotifier(store, options, "polling");
  }
  if (target.kind == TargetKind::kHub) {
    // The hub's change feed; without one (cannot happen for a parsed
    // target), polling as for S3.
    Result<std::unique_ptr<HubFeed>> feed =
        MakeHubFeed(target, HubStoreOptionsFromEnvironment(target));
    if (feed.ok()) return MakeHubRemoteNotifier(store, std::move(*feed), options);
  }
  return MakePollingRemoteNotifier(store, options, "conditional_get");
}

}  // namespace hx
