// The polling adapter (polling_watcher.h): a stat walk through the Env,
// compared with the previous one. The walk's time comes from the Env's
// clock, its waiting from poll(2) on an eventfd (which Wake writes to).
#include "agent/polling_watcher.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/os_error.h"
#include "os/env.h"

namespace hx {
namespace {

// One entry of a walk: what a change would show in.
struct Node {
  std::string path;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t ino = 0;
  std::uint64_t dev = 0;
  mode_t mode = 0;

  bool is_dir() const { return S_ISDIR(mode); }
};

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

bool PathLess(const Node& a, const Node& b) { return a.path < b.path; }

class PollingWatcher final : public Watcher {
 public:
  explicit PollingWatcher(PollingOptions options)
      : env_(options.env != nullptr ? *options.env : Env::Default()),
        interval_(std::chrono::milliseconds(std::max<std::int64_t>(options.interval_ms, 0))),
        min_idle_factor_(std::max<std::int64_t>(options.min_idle_factor, 0)) {
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~PollingWatcher() override {
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  Status Start(const std::filesystem::path& root, const IgnoreRules& rules) override;
  Result<std::vector<WatchEvent>> Poll(int timeout_ms) override;
  void SetRules(const IgnoreRules& rules) override;
  void Wake() override {
    if (wake_fd_ < 0) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  }
  WatcherMode mode() const override {
    return overflowed_ ? WatcherMode::kOverflowed : WatcherMode::kPolling;
  }
  void InjectOverflow(std::string detail) override {
    injected_ = true;
    injected_detail_ = std::move(detail);
  }

 private:
  // The vault as it is now, sorted by path. Directories that cannot be
  // listed keep their previous entries.
  Result<std::vector<Node>> Walk();
  std::vector<WatchEvent> Compare(const std::vector<Node>& now);
  // Walks, timing the walk on the Env's clock to schedule the next one.
  Result<std::vector<Node>> TimedWalk();

  Env& env_;
  const std::chrono::milliseconds interval_;
  const std::int64_t min_idle_factor_;
  int wake_fd_ = -1;
  std::filesystem::path root_;
  Fd root_fd_;
  IgnoreRules rules_;
  std::vector<Node> previous_;
  Clock::MonoTime next_walk_{};
  std::uint32_t next_cookie_ = 1;
  bool started_ = false;
  bool overflowed_ = false;
  bool injected_ = false;
  std::string injected_detail_;
};

Result<std::vector<Node>> PollingWatcher::TimedWalk() {
  const Clock::MonoTime begin = env_.clock().Monotonic();
  Result<std::vector<Node>> nodes = Walk();
  const Clock::MonoTime end = env_.clock().Monotonic();
  next_walk_ = end + std::max<Clock::MonoTime::duration>(interval_, (end - begin) * min_idle_factor_);
  return nodes;
}

Status PollingWatcher::Start(const std::filesystem::path& root, const IgnoreRules& rules) {
  int fd = -1;
  if (const int err = env_.Open(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY, 0, &fd);
      err != 0) {
    return OsError(SyncCode::kStateFailed, "open the vault folder", root, err);
  }
  root_ = root;
  root_fd_ = Fd(env_, fd);
  rules_ = rules;
  HX_ASSIGN_OR_RETURN(previous_, TimedWalk());
  started_ = true;
  overflowed_ = false;
  return OkStatus();
}

void PollingWatcher::SetRules(const IgnoreRules& rules) {
  rules_ = rules;
  // The old walk as the new rules see it: what they now ignore is dropped
  // (not reported deleted); what they no longer ignore shows up as created.
  std::erase_if(previous_,
                [&](const Node& node) { return rules_.IsIgnored(node.path, node.is_dir()); });
}

Result<std::vector<Node>> PollingWatcher::Walk() {
  std::vector<Node> nodes;
  std::vector<std::string> unreadable;
  std::vector<std::string> stack{""};
  std::vector<DirEntry> entries;
  while (!stack.empty()) {
    const std::string rel = std::move(stack.back());
    stack.pop_back();
    int fd = -1;
    const int err = rel.empty()
                        ? env_.Open(root_fd_.get(), ".", O_RDONLY | O_DIRECTORY, 0, &fd)
                        : env_.OpenBeneath(root_fd_.get(), rel.c_str(),
                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &fd);
    if (err != 0) {
      if (rel.empty()) return OsError(SyncCode::kStateFailed, "list the vault folder", root_, err);
      // Gone since it was listed: its entries are gone too. Unreadable: keep
      // what the previous walk saw (the scanner reports the error).
      if (err != ENOENT && err != ENOTDIR && err != ELOOP) unreadable.push_back(rel);
      continue;
    }
    Fd dir(env_, fd);
    entries.clear();
    if (const int list_err = env_.ReadDir(dir.get(), &entries); list_err != 0) {
      if (rel.empty()) {
        return OsError(SyncCode::kStateFailed, "list the vault folder", root_, list_err);
      }
      unreadable.push_back(rel);
      continue;
    }
    for (const DirEntry& entry : entries) {
      if (rel.empty() && entry.name == kStateDirName) continue;
      struct stat st;
      if (env_.StatAt(dir.get(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      Node node;
      node.path = rel.empty() ? entry.name : rel + "/" + entry.name;
      if (rules_.Matches(node.path, S_ISDIR(st.st_mode))) continue;
      node.size = static_cast<std::int64_t>(st.st_size);
      node.mtime_ns =
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      node.ino = static_cast<std::uint64_t>(st.st_ino);
      node.dev = static_cast<std::uint64_t>(st.st_dev);
      node.mode = st.st_mode;
      if (node.is_dir()) stack.push_back(node.path);
      nodes.push_back(std::move(node));
    }
  }
  for (const std::string& dir : unreadable) {
    auto it = std::lower_bound(previous_.begin(), previous_.end(), Node{dir + "/"}, PathLess);
    for (; it != previous_.end() && IsUnder(it->path, dir); ++it) nodes.push_back(*it);
  }
  std::sort(nodes.begin(), nodes.end(), PathLess);
  return nodes;
}

std::vector<WatchEvent> PollingWatcher::Compare(const std::vector<Node>& now) {
  std::vector<const Node*> gone;
  std::vector<const Node*> born;
  std::vector<WatchEvent> events;
  auto modified = [&](const Node& node) {
    WatchEvent event;
    event.kind = WatchEventKind::kModified;
    event.path = node.path;
    event.is_dir = node.is_dir();
    events.push_back(std::move(event));
  };
  // Both walks are sorted by path: one merge.
  auto a = previous_.begin();
  auto b = now.begin();
  while (a != previous_.end() || b != now.end()) {
    if (b == now.end() || (a != previous_.end() && a->path < b->path)) {
      gone.push_back(&*a++);
    } else if (a == previous_.end() || b->path < a->path) {
      born.push_back(&*b++);
    } else {
      if ((a->mode & S_IFMT) != (b->mode & S_IFMT)) {
        gone.push_back(&*a);  // a file became a directory, or the reverse
        born.push_back(&*b);
      } else if (b->is_dir()) {
        if (a->mode != b->mode) modified(*b);
      } else if (a->size != b->size || a->mtime_ns != b->mtime_ns || a->mode != b->mode ||
                 a->ino != b->ino || a->dev != b->dev) {
        modified(*b);
      }
      ++a;
      ++b;
    }
  }
  // A name gone and a name born with the same inode and type (a file: and
  // size and mtime, which rename keeps and a new file reusing the inode
  // number would not): a move.
  std::unordered_map<std::uint64_t, std::vector<const Node*>> gone_by_ino;
  for (const Node* node : gone) gone_by_ino[node->ino ^ (node->dev << 32)].push_back(node);
  std::vector<const Node*> moved_from;
  for (const Node* node : born) {
    const Node* from = nullptr;
    if (auto it = gone_by_ino.find(node->ino ^ (node->dev << 32)); it != gone_by_ino.end()) {
      for (const Node*& candidate : it->second) {
        if (candidate != nullptr && candidate->ino == node->ino && candidate->dev == node->dev &&
            (candidate->mode & S_IFMT) == (node->mode & S_IFMT) &&
            (node->is_dir() ||
             (candidate->size == node->size && candidate->mtime_ns == node->mtime_ns))) {
          from = candidate;
          candidate = nullptr;  // paired once
          break;
        }
      }
    }
    WatchEvent event;
    event.path = node->path;
    event.is_dir = node->is_dir();
    if (from == nullptr) {
      event.kind = WatchEventKind::kCreated;
      events.push_back(std::move(event));
      continue;
    }
    const std::uint32_t cookie = next_cookie_++;
    if (next_cookie_ == 0) next_cookie_ = 1;
    WatchEvent from_event;
    from_event.kind = WatchEventKind::kMovedFrom;
    from_event.path = from->path;
    from_event.is_dir = from->is_dir();
    from_event.cookie = cookie;
    events.push_back(std::move(from_event));
    event.kind = WatchEventKind::kMovedTo;
    event.cookie = cookie;
    events.push_back(std::move(event));
    moved_from.push_back(from);
  }
  std::sort(moved_from.begin(), moved_from.end());
  for (const Node* node : gone) {
    if (std::binary_search(moved_from.begin(), moved_from.end(), node)) continue;
    WatchEvent event;
    event.kind = WatchEventKind::kDeleted;
    event.path = node->path;
    event.is_dir = node->is_dir();
    events.push_back(std::move(event));
  }
  return events;
}

Result<std::vector<WatchEvent>> PollingWatcher::Poll(int timeout_ms) {
  if (!started_) {
    return Error(SyncCode::kInternal, Category::kInternal, "the polling watcher was not started");
  }
  std::vector<WatchEvent> events;
  if (injected_) {
    injected_ = false;
    // A fresh baseline: the consumer's rescan covers everything before it.
    HX_ASSIGN_OR_RETURN(previous_, TimedWalk());
    WatchEvent event;
    event.kind = WatchEventKind::kOverflow;
    event.detail = injected_detail_.empty() ? "overflow injected" : injected_detail_;
    events.push_back(std::move(event));
    overflowed_ = true;
    return events;
  }
  Clock::MonoTime now = env_.clock().Monotonic();
  if (now < next_walk_ && timeout_ms > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_walk_ - now).count() + 1;
    struct pollfd fd = {wake_fd_, POLLIN, 0};
    const int ready =
        poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(left, timeout_ms)));
    if (ready > 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t n = read(wake_fd_, &count, sizeof count);
    }
    now = env_.clock().Monotonic();
  }
  if (now < next_walk_) {
    overflowed_ = false;
    return events;
  }
  HX_ASSIGN_OR_RETURN(std::vector<Node> current, TimedWalk());
  events = Compare(current);
  previous_ = std::move(current);
  overflowed_ = events.size() > kMaxEventsPerPoll;
  if (overflowed_) {
    events.clear();
    WatchEvent event;
    event.kind = WatchEventKind::kOverflow;
    event.detail = "more than " + std::to_string(kMaxEventsPerPoll) +
                   " changes between two walks (the watcher reports that many per poll at most)";
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

std::unique_ptr<Watcher> MakePollingWatcher(PollingOptions options) {
  return std::make_unique<PollingWatcher>(options);
}

}  // namespace hx
