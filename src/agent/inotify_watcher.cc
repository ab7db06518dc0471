// The inotify adapter (inotify_watcher.h). inotify is used directly: one
// instance, one watch per directory, a 64 KiB read buffer, and an eventfd
// that Wake writes to so that a blocked poll(2) returns.
#include "agent/inotify_watcher.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/os_error.h"
#include "base/printable.h"
#include "os/env.h"

namespace hx {
namespace {

constexpr std::uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                     IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF |
                                     IN_MOVE_SELF | IN_EXCL_UNLINK | IN_ONLYDIR;
constexpr std::size_t kReadBufferBytes = 64 * 1024;
constexpr int kReadsPerPoll = 16;
// Unpaired IN_MOVED_FROM halves kept while waiting for their IN_MOVED_TO.
constexpr std::size_t kMaxPendingMoves = 4096;

std::string Join(const std::string& dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out += dir;
  out += '/';
  out += name;
  return out;
}

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

// The current value of a /proc/sys setting, or "" if it cannot be read.
std::string ReadSysctl(Env& env, const char* path) {
  int fd = -1;
  if (env.Open(AT_FDCWD, path, O_RDONLY, 0, &fd) != 0) return "";
  Fd owned(env, fd);
  std::string text;
  if (ReadAll(env, owned.get(), 64, &text) != 0) return "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

class InotifyWatcher final : public Watcher {
 public:
  explicit InotifyWatcher(InotifyOptions options)
      : env_(options.env != nullptr ? *options.env : Env::Default()), options_(options) {
    // Created at once, so that Wake works even before Start.
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    buffer_.resize(kReadBufferBytes);
  }

  ~InotifyWatcher() override {
    if (inotify_fd_ >= 0) close(inotify_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  Status Start(const std::filesystem::path& root, const IgnoreRules& rules) override;
  Result<std::vector<WatchEvent>> Poll(int timeout_ms) override;
  void SetRules(const IgnoreRules& rules) override {
    rules_ = rules;
    if (inotify_fd_ >= 0) Resync();
  }
  void Wake() override {
    if (wake_fd_ < 0) return;
    const std::uint64_t one = 1;
    // Async-signal-safe; a full counter (never in practice) still wakes.
    [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  }
  WatcherMode mode() const override {
    return overflowed_ || limit_reached_ ? WatcherMode::kOverflowed : WatcherMode::kInotify;
  }
  bool limit_reached() const { return limit_reached_; }
  void InjectOverflow(std::string detail) override {
    injected_ = true;
    injected_detail_ = std::move(detail);
  }

 private:
  enum class AddResult { kAdded, kSkipped, kLimit };
  struct PendingMove {
    std::uint32_t cookie = 0;
    std::string path;
    bool is_dir = false;
    bool ignored = false;
  };

  AddResult AddWatch(const std::string& rel);
  void LimitReached(const std::string& rel);
  // Watches `rel` and every directory below it that is not ignored; with
  // `emit`, reports each entry found (not `rel` itself) as kCreated. Stops
  // at the watch limit.
  void WatchTree(const std::string& rel, bool emit, std::set<int>* seen = nullptr);
  // Forgets (and, with `remove`, removes from the kernel) the watches of
  // `rel` and everything below it.
  void Unwatch(const std::string& rel, bool remove);
  void RenameWatches(const std::string& from, const std::string& to);
  void ForgetWatch(int wd);
  // Re-walks the vault after events were lost or the rules changed: every
  // directory that should be watched is, and no other.
  void Resync();
  // Reads up to kReadsPerPoll buffers; true if the kernel queue was drained.
  bool ReadEvents();
  void Handle(const struct inotify_event& header, std::string_view name);
  void ResolveUnpairedMoves();
  void DiscardQueued();

  void Emit(WatchEvent event);
  void Overflow(std::string detail);

  Env& env_;
  const InotifyOptions options_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  std::string root_;
  Fd root_fd_;
  IgnoreRules rules_;
  std::unordered_map<int, std::string> wd_path_;
  std::map<std::string, int> path_wd_;
  std::vector<char> buffer_;
  std::vector<PendingMove> pending_moves_;
  bool queue_overflowed_ = false;  // IN_Q_OVERFLOW seen in this Poll
  bool limit_reached_ = false;
  std::string limit_detail_;
  bool overflowed_ = false;        // the last Poll reported kOverflow
  bool injected_ = false;
  std::string injected_detail_;

  // The result being built by one Poll.
  std::vector<WatchEvent> out_;
  std::unordered_map<std::string, std::size_t> last_of_path_;  // index into out_
  std::vector<std::string> overflow_details_;
  bool too_many_ = false;
};

Status InotifyWatcher::Start(const std::filesystem::path& root, const IgnoreRules& rules) {
  if (wake_fd_ < 0) {
    return OsError(SyncCode::kStateFailed, "create the watcher's wake-up eventfd for", root, errno);
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  wd_path_.clear();
  path_wd_.clear();
  pending_moves_.clear();
  limit_reached_ = false;
  overflowed_ = false;
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    const int err = errno;
    return OsError(SyncCode::kStateFailed, "start inotify for", root, err,
                   err == EMFILE ? "the per-user limit of inotify instances "
                                   "(fs.inotify.max_user_instances) is reached; raise it or "
                                   "watch by polling"
                                 : "watch by polling");
  }
  root_ = root.string();
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  int fd = -1;
  if (const int err = env_.Open(AT_FDCWD, root_.c_str(), O_RDONLY | O_DIRECTORY, 0, &fd);
      err != 0) {
    close(inotify_fd_);
    inotify_fd_ = -1;
    return OsError(SyncCode::kStateFailed, "open the vault folder", root, err);
  }
  root_fd_ = Fd(env_, fd);
  rules_ = rules;
  out_.clear();
  last_of_path_.clear();
  overflow_details_.clear();
  too_many_ = false;
  WatchTree("", /*emit=*/false);
  // A limit reached during set-up is reported by the first Poll: the details
  // gathered here stay for it.
  return OkStatus();
}

InotifyWatcher::AddResult InotifyWatcher::AddWatch(const std::string& rel) {
  if (limit_reached_) {
    // Every directory left unwatched is reported (the same detail is
    // reported once per Poll).
    Overflow(limit_detail_);
    return AddResult::kLimit;
  }
  int wd = -1;
  int err = 0;
  // The simulated limit counts as the kernel does: watching a directory
  // again costs nothing.
  if (options_.max_watches != 0 && wd_path_.size() >= options_.max_watches &&
      path_wd_.count(rel) == 0) {
    err = ENOSPC;
  } else {
    const std::string abs = rel.empty() ? root_ : root_ + "/" + rel;
    // The root may be reached through a symlink the user named; nothing
    // below it is followed.
    const std::uint32_t mask = rel.empty() ? kWatchMask : kWatchMask | IN_DONT_FOLLOW;
    wd = inotify_add_watch(inotify_fd_, abs.c_str(), mask);
    if (wd < 0) err = errno;
  }
  if (err == ENOSPC) {
    LimitReached(rel);
    return AddResult::kLimit;
  }
  // Gone meanwhile (ENOENT), a symlink or a file now (ENOTDIR), unreadable
  // (EACCES): the scanner reports what it cannot read; nothing to watch.
  if (wd < 0) return AddResult::kSkipped;
  // The same directory (inode) watched under another name: it was moved
  // while events were lost. The kernel returns the same descriptor.
  if (auto it = wd_path_.find(wd); it != wd_path_.end() && it->second != rel) {
    if (auto p = path_wd_.find(it->second); p != path_wd_.end() && p->second == wd) {
      path_wd_.erase(p);
    }
  }
  wd_path_[wd] = rel;
  path_wd_[rel] = wd;
  return AddResult::kAdded;
}

void InotifyWatcher::LimitReached(const std::string& rel) {
  limit_reached_ = true;
  const std::string limit = ReadSysctl(env_, "/proc/sys/fs/inotify/max_user_watches");
  std::string detail = "the inotify watch limit is reached (fs.inotify.max_user_watches = ";
  detail += limit.empty() ? "?" : limit;
  if (options_.max_watches != 0) {
    detail += ", or this watcher's max_watches = " + std::to_string(options_.max_watches);
  }
  detail += ", " + std::to_string(wd_path_.size()) + " directories of this vault watched): '";
  AppendPrintable(detail, rel.empty() ? std::string(".") : rel);
  detail +=
      "' and the directories after it are not watched, so hx rescans the whole vault instead; "
      "raise the limit with `sudo sysctl fs.inotify.max_user_watches=524288` (and a line "
      "`fs.inotify.max_user_watches=524288` in /etc/sysctl.d/90-hx.conf to keep it), or watch by "
      "polling";
  limit_detail_ = detail;
  Overflow(std::move(detail));
}

void InotifyWatcher::WatchTree(const std::string& top, bool emit, std::set<int>* seen) {
  std::vector<std::string> stack{top};
  std::vector<DirEntry> entries;
  while (!stack.empty()) {
    const std::string rel = std::move(stack.back());
    stack.pop_back();
    // Watch first, then list: an entry created after the listing is an
    // event of the new watch, one created before is in the listing.
    const AddResult added = AddWatch(rel);
    if (added == AddResult::kLimit) return;
    if (added == AddResult::kSkipped) continue;
    if (seen != nullptr) seen->insert(path_wd_[rel]);
    int fd = -1;
    const int err = rel.empty()
                        ? env_.Open(root_fd_.get(), ".", O_RDONLY | O_DIRECTORY, 0, &fd)
                        : env_.OpenBeneath(root_fd_.get(), rel.c_str(),
                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &fd);
    if (err != 0) continue;
    Fd dir(env_, fd);
    entries.clear();
    if (env_.ReadDir(dir.get(), &entries) != 0) continue;
    for (const DirEntry& entry : entries) {
      if (rel.empty() && entry.name == kStateDirName) continue;
      bool is_dir = entry.type == DT_DIR;
      if (entry.type == DT_UNKNOWN) {
        struct stat st;
        if (env_.StatAt(dir.get(), entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        is_dir = S_ISDIR(st.st_mode);
      }
      std::string child = Join(rel, entry.name);
      if (rules_.Matches(child, is_dir)) continue;
      if (emit) {
        WatchEvent event;
        event.kind = WatchEventKind::kCreated;
        event.path = child;
        event.is_dir = is_dir;
        Emit(std::move(event));
      }
      if (is_dir) stack.push_back(std::move(child));
    }
  }
}

void InotifyWatcher::ForgetWatch(int wd) {
  const auto it = wd_path_.find(wd);
  if (it == wd_path_.end()) return;
  if (auto p = path_wd_.find(it->second); p != path_wd_.end() && p->second == wd) {
    path_wd_.erase(p);
  }
  wd_path_.erase(it);
}

void InotifyWatcher::Unwatch(const std::string& rel, bool remove) {
  std::vector<int> wds;
  if (auto it = path_wd_.find(rel); it != path_wd_.end()) wds.push_back(it->second);
  for (auto it = path_wd_.lower_bound(rel + "/"); it != path_wd_.end() && IsUnder(it->first, rel);
       ++it) {
    wds.push_back(it->second);
  }
  for (const int wd : wds) {
    if (remove) inotify_rm_watch(inotify_fd_, wd);  // EINVAL if already gone: fine
    ForgetWatch(wd);
  }
}

void InotifyWatcher::RenameWatches(const std::string& from, const std::string& to) {
  std::vector<std::pair<std::string, int>> moved;
  if (auto it = path_wd_.find(from); it != path_wd_.end()) moved.emplace_back(*it);
  for (auto it = path_wd_.lower_bound(from + "/");
       it != path_wd_.end() && IsUnder(it->first, from); ++it) {
    moved.emplace_back(*it);
  }
  for (const auto& [path, wd] : moved) path_wd_.erase(path);
  for (const auto& [path, wd] : moved) {
    std::string renamed = to + path.substr(from.size());
    wd_path_[wd] = renamed;
    path_wd_[std::move(renamed)] = wd;
  }
}

void InotifyWatcher::Resync() {
  std::set<int> seen;
  // Retry the limit: watches may have been freed since (directories
  // deleted); if it is still reached, it is reported again.
  limit_reached_ = false;
  WatchTree("", /*emit=*/false, &seen);
  if (limit_reached_) return;  // keep what we have: better some watches than none
  std::vector<int> stale;
  for (const auto& [wd, path] : wd_path_) {
    if (seen.count(wd) == 0) stale.push_back(wd);
  }
  for (const int wd : stale) {
    inotify_rm_watch(inotify_fd_, wd);
    ForgetWatch(wd);
  }
}

void InotifyWatcher::Emit(WatchEvent event) {
  if (too_many_) return;
  if (event.kind == WatchEventKind::kModified) {
    // Coalesce a write storm: one kModified per path and Poll, carrying the
    // latest hint (unless something else happened to the path in between).
    if (auto it = last_of_path_.find(event.path); it != last_of_path_.end()) {
      WatchEvent& last = out_[it->second];
      if (last.kind == WatchEventKind::kModified) {
        if (event.write != WriteHint::kUnknown) last.write = event.write;
        return;
      }
    }
  }
  if (out_.size() >= kMaxEventsPerPoll) {
    too_many_ = true;
    Overflow("more than " + std::to_string(kMaxEventsPerPoll) +
             " changes at once (the watcher reports that many per poll at most)");
    return;
  }
  last_of_path_[event.path] = out_.size();
  out_.push_back(std::move(event));
}

void InotifyWatcher::Overflow(std::string detail) {
  if (std::find(overflow_details_.begin(), overflow_details_.end(), detail) ==
      overflow_details_.end()) {
    overflow_details_.push_back(std::move(detail));
  }
}

bool InotifyWatcher::ReadEvents() {
  for (int round = 0; round < kReadsPerPoll; ++round) {
    const ssize_t n = read(inotify_fd_, buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return true;  // EAGAIN: drained (another error: nothing more to read now)
    }
    if (n == 0) return true;
    std::size_t offset = 0;
    const std::size_t got = static_cast<std::size_t>(n);
    while (offset + sizeof(struct inotify_event) <= got) {
      struct inotify_event header;
      std::memcpy(&header, buffer_.data() + offset, sizeof header);
      const char* name = buffer_.data() + offset + sizeof header;
      const std::size_t room = std::min<std::size_t>(header.len, got - offset - sizeof header);
      Handle(header, std::string_view(name, strnlen(name, room)));
      offset += sizeof header + header.len;
    }
  }
  return false;
}

void InotifyWatcher::DiscardQueued() {
  // Bounded: a writer producing events as fast as they are read must not
  // keep this loop going (what is left is read by the next Poll).
  for (int round = 0; round < 4 * kReadsPerPoll; ++round) {
    const ssize_t n = read(inotify_fd_, buffer_.data(), buffer_.size());
    if (n <= 0 && !(n < 0 && errno == EINTR)) return;
  }
}

void InotifyWatcher::Handle(const struct inotify_event& ev, std::string_view name) {
  if ((ev.mask & IN_Q_OVERFLOW) != 0) {
    queue_overflowed_ = true;
    return;
  }
  if ((ev.mask & IN_IGNORED) != 0) {
    ForgetWatch(ev.wd);  // the directory was deleted, moved out of its fs, or unwatched
    return;
  }
  const auto dir_it = wd_path_.find(ev.wd);
  if (dir_it == wd_path_.end()) return;  // a watch we already dropped
  const std::string dir = dir_it->second;
  if ((ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
    // A subdirectory's own deletion or move is reported by its parent; only
    // the root's is news.
    if (dir.empty()) {
      Overflow((ev.mask & IN_DELETE_SELF) != 0 ? "the vault folder was deleted"
                                               : "the vault folder was moved or renamed");
    }
    return;
  }
  if (name.empty()) return;
  if (dir.empty() && name == kStateDirName) return;
  const bool is_dir = (ev.mask & IN_ISDIR) != 0;
  std::string path = Join(dir, name);
  const bool ignored = rules_.IsIgnored(path, is_dir);

  WatchEvent event;
  event.path = path;
  event.is_dir = is_dir;
  if ((ev.mask & IN_MOVED_FROM) != 0) {
    if (pending_moves_.size() >= kMaxPendingMoves) ResolveUnpairedMoves();
    pending_moves_.push_back(PendingMove{ev.cookie, std::move(path), is_dir, ignored});
    return;
  }
  if ((ev.mask & IN_MOVED_TO) != 0) {
    const auto from = std::find_if(pending_moves_.begin(), pending_moves_.end(),
                                   [&](const PendingMove& m) { return m.cookie == ev.cookie; });
    if (from != pending_moves_.end()) {
      PendingMove move = std::move(*from);
      pending_moves_.erase(from);
      if (!move.ignored && !ignored) {
        WatchEvent out_from;
        out_from.kind = WatchEventKind::kMovedFrom;
        out_from.path = move.path;
        out_from.is_dir = move.is_dir;
        out_from.cookie = ev.cookie;
        Emit(std::move(out_from));
        event.kind = WatchEventKind::kMovedTo;
        event.cookie = ev.cookie;
        Emit(std::move(event));
        if (is_dir) RenameWatches(move.path, path);
        return;
      }
      if (!move.ignored) {  // moved into an ignored name: gone from the vault's view
        WatchEvent gone;
        gone.kind = WatchEventKind::kDeleted;
        gone.path = move.path;
        gone.is_dir = move.is_dir;
        Emit(std::move(gone));
        if (move.is_dir) Unwatch(move.path, /*remove=*/true);
        return;
      }
      // From an ignored name to a synced one: as if moved in (below).
    }
    if (ignored) return;
    event.kind = WatchEventKind::kCreated;
    Emit(std::move(event));
    if (is_dir) WatchTree(path, /*emit=*/true);
    return;
  }
  if (ignored) return;
  if ((ev.mask & IN_CREATE) != 0) {
    event.kind = WatchEventKind::kCreated;
    // open(O_CREAT) created it and still holds it; its IN_CLOSE_WRITE
    // follows. (A hard link or a FIFO never closes: the batcher releases a
    // held file after max_hold_ms, and a FIFO at once.)
    event.write = is_dir ? WriteHint::kUnknown : WriteHint::kWriting;
    Emit(std::move(event));
    // The race of mkdir-then-write: files may exist in it already.
    if (is_dir) WatchTree(path, /*emit=*/true);
    return;
  }
  if ((ev.mask & IN_DELETE) != 0) {
    event.kind = WatchEventKind::kDeleted;
    Emit(std::move(event));
    if (is_dir) Unwatch(path, /*remove=*/false);  // the kernel drops them (IN_IGNORED)
    return;
  }
  event.kind = WatchEventKind::kModified;
  if ((ev.mask & IN_CLOSE_WRITE) != 0) {
    event.write = WriteHint::kClosed;
  } else if ((ev.mask & IN_MODIFY) != 0) {
    event.write = WriteHint::kWriting;
  } else if ((ev.mask & IN_ATTRIB) == 0) {
    return;
  }
  Emit(std::move(event));
}

void InotifyWatcher::ResolveUnpairedMoves() {
  // Moved out of the vault (or its IN_MOVED_TO was lost): a deletion.
  std::vector<PendingMove> moves = std::move(pending_moves_);
  pending_moves_.clear();
  for (PendingMove& move : moves) {
    if (move.ignored) continue;
    WatchEvent gone;
    gone.kind = WatchEventKind::kDeleted;
    gone.path = move.path;
    gone.is_dir = move.is_dir;
    Emit(std::move(gone));
    // Its watches follow the inode out of the vault: remove them.
    if (move.is_dir) Unwatch(move.path, /*remove=*/true);
  }
}

Result<std::vector<WatchEvent>> InotifyWatcher::Poll(int timeout_ms) {
  if (inotify_fd_ < 0) {
    return Error(SyncCode::kInternal, Category::kInternal, "the inotify watcher was not started");
  }
  out_.clear();
  last_of_path_.clear();
  too_many_ = false;
  queue_overflowed_ = false;
  // overflow_details_ may hold a watch limit reached during Start or a
  // SetRules: it is reported now.

  if (injected_) {
    injected_ = false;
    DiscardQueued();
    pending_moves_.clear();
    Overflow(injected_detail_.empty() ? "overflow injected" : injected_detail_);
    Resync();
  } else if (overflow_details_.empty()) {
    struct pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    // Pending move halves from a previous Poll are resolved without waiting.
    const int wait = pending_moves_.empty() ? std::max(timeout_ms, 0) : 0;
    const int ready = poll(fds, 2, wait);
    if (ready < 0 && errno != EINTR) {
      return OsError(SyncCode::kStateFailed, "wait for inotify events of", root_, errno);
    }
    if (ready > 0 && (fds[1].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t n = read(wake_fd_, &count, sizeof count);
    }
    bool drained = ReadEvents();
    if (drained && !pending_moves_.empty() && !queue_overflowed_) {
      // rename(2) queues IN_MOVED_FROM and IN_MOVED_TO one after the other;
      // a read may fall between them. One short wait for the second half.
      struct pollfd one = {inotify_fd_, POLLIN, 0};
      if (poll(&one, 1, 1) > 0) drained = ReadEvents();
    }
    if (drained) ResolveUnpairedMoves();
    if (queue_overflowed_) {
      // Lost events may include directories created (not yet watched) or
      // moved (watched under an old name): rebuild the watches.
      pending_moves_.clear();
      Overflow("the kernel's inotify event queue overflowed (fs.inotify.max_queued_events)");
      Resync();
    }
  }

  overflowed_ = !overflow_details_.empty();
  if (!overflowed_) return std::move(out_);
  // The consumer rescans everything: the individual events add nothing.
  std::vector<WatchEvent> result;
  for (std::string& detail : overflow_details_) {
    WatchEvent event;
    event.kind = WatchEventKind::kOverflow;
    event.detail = std::move(detail);
    result.push_back(std::move(event));
  }
  overflow_details_.clear();
  out_.clear();
  return result;
}

}  // namespace

std::unique_ptr<Watcher> MakeInotifyWatcher(InotifyOptions options) {
  return std::make_unique<InotifyWatcher>(options);
}

bool InotifyWatchLimitReached(const Watcher& watcher) {
  const auto* inotify = dynamic_cast<const InotifyWatcher*>(&watcher);
  return inotify != nullptr && inotify->limit_reached();
}

}  // namespace hx
