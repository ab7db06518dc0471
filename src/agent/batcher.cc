// The batcher: per-path coalescing, the quiet period / max delay window, the
// stability look and the agent's own writes. See batcher.h for the rules;
// the comments here say why they are so.
#include "agent/batcher.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <utility>

#include "os/env.h"

namespace hx {

Batcher::Batcher(BatchOptions options) : options_(options) {}

std::int64_t Batcher::Clamp(std::int64_t now_ms) {
  // A wall clock stepped back must not stall a batch (its quiet period would
  // be measured from a time in the "future"): every stored time moves back
  // by the step, as if no time had passed since the last call.
  if (now_ms < max_now_ms_) {
    const std::int64_t step = max_now_ms_ - now_ms;
    for (auto& [path, p] : queue_) {
      p.first_ms -= step;
      p.last_ms -= step;
      if (p.held_since_ms >= 0) p.held_since_ms -= step;
      if (p.recheck_ms >= 0) p.recheck_ms -= step;
    }
    for (auto& [path, own] : own_) own.recorded_ms -= step;
    rescan_first_ms_ -= step;
    rescan_last_ms_ -= step;
  }
  max_now_ms_ = now_ms;
  return now_ms;
}

OwnWrite OwnWrite::Of(const struct stat* st) {
  OwnWrite w;
  if (st == nullptr) return w;
  w.kind = S_ISREG(st->st_mode) ? Kind::kFile : S_ISDIR(st->st_mode) ? Kind::kDir : Kind::kOther;
  w.inode = static_cast<std::uint64_t>(st->st_ino);
  w.size = static_cast<std::uint64_t>(st->st_size);
  w.mtime_ns = static_cast<std::int64_t>(st->st_mtim.tv_sec) * 1'000'000'000 + st->st_mtim.tv_nsec;
  w.ctime_ns = static_cast<std::int64_t>(st->st_ctim.tv_sec) * 1'000'000'000 + st->st_ctim.tv_nsec;
  return w;
}

bool OwnWrite::Matches(const struct stat* now) const {
  const OwnWrite n = Of(now);
  if (n.kind != kind) return false;
  switch (kind) {
    case Kind::kAbsent:
      return true;
    case Kind::kDir:
      // A directory's times move with its entries (each of which has its
      // own events and records): it is the same directory while its inode is.
      return n.inode == inode;
    case Kind::kFile:
    case Kind::kOther:
      return n.inode == inode && n.size == size && n.mtime_ns == mtime_ns &&
             n.ctime_ns == ctime_ns;
  }
  return false;
}

void Batcher::Queue(const std::string& path, WriteHint hint, std::int64_t now_ms) {
  auto [it, inserted] = queue_.try_emplace(path);
  Pending& p = it->second;
  if (inserted || p.recheck_ms >= 0) {
    // A new path, or a held one that changed again: it (re)joins the window
    // of the next batch. Its previous look and hold time are kept, so a file
    // that keeps changing is still released after max_hold_ms.
    p.first_ms = now_ms;
    p.recheck_ms = -1;
  }
  p.last_ms = now_ms;
  switch (hint) {
    case WriteHint::kWriting:
      p.open = true;
      p.closed = false;
      break;
    case WriteHint::kClosed:
      p.open = false;
      p.closed = true;
      break;
    case WriteHint::kUnknown:
      // A metadata change or a scan says nothing about writers: keep what
      // the last write hint said.
      break;
  }
}

void Batcher::Add(const WatchEvent& event, std::int64_t now_ms) {
  now_ms = Clamp(now_ms);
  if (event.kind == WatchEventKind::kOverflow) {
    if (!rescan_) {
      rescan_ = true;
      rescan_first_ms_ = now_ms;
      rescan_reason_.clear();
    }
    rescan_last_ms_ = now_ms;
    // Several overflows in one window: keep each distinct reason once.
    if (rescan_reason_.find(event.detail) == std::string::npos) {
      if (!rescan_reason_.empty()) rescan_reason_ += "; ";
      rescan_reason_ += event.detail;
    }
    return;
  }
  if (event.path.empty()) return;
  WriteHint hint = event.write;
  if (event.kind == WatchEventKind::kMovedFrom) {
    // Remembered for its kMovedTo (the adapters deliver the halves one after
    // the other): was the old name still open for writing?
    const auto it = queue_.find(event.path);
    moved_from_cookie_ = event.cookie;
    moved_from_open_ = it != queue_.end() && it->second.open;
  }
  if (event.kind == WatchEventKind::kMovedTo && hint == WriteHint::kUnknown) {
    // rename(2) is how editors and downloaders publish a finished file: the
    // new name is complete unless the old one was still being written.
    hint = event.cookie != 0 && event.cookie == moved_from_cookie_ && moved_from_open_
               ? WriteHint::kWriting
               : WriteHint::kClosed;
  }
  const bool gone =
      event.kind == WatchEventKind::kDeleted || event.kind == WatchEventKind::kMovedFrom;
  // The name is gone: whoever wrote under it is no longer writing there.
  if (gone) hint = WriteHint::kClosed;
  Queue(event.path, hint, now_ms);
  if (gone) queue_[event.path].looked = false;
}

void Batcher::RecordOwnWrite(const std::string& path, const OwnWrite& installed,
                             std::int64_t now_ms) {
  now_ms = Clamp(now_ms);
  auto it = own_.find(path);
  if (it == own_.end()) {
    if (own_.size() >= options_.max_own_writes) return;  // its event makes a no-op push
    it = own_.emplace(path, OwnRecord{}).first;
  }
  it->second = OwnRecord{installed, now_ms};
}

bool Batcher::FreshDue(std::int64_t now_ms) const {
  bool any = false;
  std::int64_t first = 0;
  std::int64_t last = 0;
  auto take = [&](std::int64_t f, std::int64_t l) {
    first = any ? std::min(first, f) : f;
    last = any ? std::max(last, l) : l;
    any = true;
  };
  if (rescan_) take(rescan_first_ms_, rescan_last_ms_);
  for (const auto& [path, p] : queue_) {
    if (p.recheck_ms < 0) take(p.first_ms, p.last_ms);
  }
  if (!any) return false;
  return now_ms - last >= options_.quiet_ms || now_ms - first >= options_.max_delay_ms;
}

bool Batcher::Stable(const struct stat* found, Pending& p, std::int64_t now_ms) {
  // Gone (or unreadable): nothing is being written there that a push could
  // tear; the push's own scan decides what it is.
  if (found == nullptr) return true;
  const struct stat& st = *found;
  if (!S_ISREG(st.st_mode)) return true;
  if (p.held_since_ms >= 0 && now_ms - p.held_since_ms >= options_.max_hold_ms) return true;

  const std::int64_t mtime_ns =
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  const std::int64_t size = static_cast<std::int64_t>(st.st_size);
  const std::int64_t age_ns = now_ms * 1'000'000 - mtime_ns;
  const bool changed_since_look = p.looked && (p.size != size || p.mtime_ns != mtime_ns);
  const bool first_look = !p.looked;
  p.looked = true;
  p.size = size;
  p.mtime_ns = mtime_ns;

  std::int64_t recheck = -1;
  if (p.open) {
    // The writer has not closed it: wait for the close event, but not for
    // ever (a log held open would never be synced).
    recheck = (p.held_since_ms >= 0 ? p.held_since_ms : now_ms) + options_.max_hold_ms;
  } else if ((age_ns >= 0 && age_ns < options_.settle_ms * 1'000'000) ||
             (!p.closed && (first_look || changed_since_look))) {
    // Modified moments ago, or nothing says the writer is done and the file
    // moved since the last look (or this is the first): one more look after
    // settle_ms. A closed file needs no second look: the close is the
    // writer saying it is done. A future mtime (a clock skew, `cp -p` from a
    // device ahead) does not count as recent, else it would be held for ever.
    recheck = now_ms + options_.settle_ms;
  }
  if (recheck < 0) return true;
  if (p.held_since_ms < 0) p.held_since_ms = now_ms;
  p.recheck_ms = recheck;
  return false;
}

std::optional<Batch> Batcher::TakeDue(const std::filesystem::path& vault, Env& env,
                                      std::int64_t now_ms) {
  now_ms = Clamp(now_ms);
  for (auto it = own_.begin(); it != own_.end();) {
    it = now_ms - it->second.recorded_ms > options_.own_write_ttl_ms ? own_.erase(it)
                                                                      : std::next(it);
  }
  const bool fresh_due = FreshDue(now_ms);
  if (fresh_due && rescan_) {
    Batch batch;
    batch.full_rescan = true;
    batch.rescan_reason = std::move(rescan_reason_);
    rescan_ = false;
    rescan_reason_.clear();
    queue_.clear();
    return batch;
  }
  Batch batch;
  for (auto it = queue_.begin(); it != queue_.end();) {
    Pending& p = it->second;
    const bool ready = p.recheck_ms < 0 ? fresh_due : p.recheck_ms <= now_ms;
    if (!ready) {
      if (p.recheck_ms >= 0) ++batch.deferred;
      ++it;
      continue;
    }
    struct stat st;
    const std::string full = (vault / it->first).string();
    const bool exists = env.StatAt(AT_FDCWD, full.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (auto own = own_.find(it->first); own != own_.end()) {
      if (own->second.installed.Matches(exists ? &st : nullptr)) {
        // Still as the pull left it: the event was the pull's own.
        ++own_ignored_;
        it = queue_.erase(it);
        continue;
      }
      // Changed since the pull installed it: a user change from now on.
      ++own_changed_;
      own_.erase(own);
    }
    if (Stable(exists ? &st : nullptr, p, now_ms)) {
      batch.paths.push_back(it->first);  // the map is sorted: so is the batch
      it = queue_.erase(it);
    } else {
      ++batch.deferred;
      ++it;
    }
  }
  if (batch.paths.empty()) return std::nullopt;
  return batch;
}

std::optional<std::int64_t> Batcher::NextDueInMs(std::int64_t now_ms) const {
  // A step back is answered as Clamp would see it: from the last time seen.
  now_ms = std::max(now_ms, max_now_ms_);
  bool any_fresh = rescan_;
  std::int64_t first = rescan_ ? rescan_first_ms_ : 0;
  std::int64_t last = rescan_ ? rescan_last_ms_ : 0;
  std::optional<std::int64_t> due;
  auto consider = [&](std::int64_t at) { due = due ? std::min(*due, at) : at; };
  for (const auto& [path, p] : queue_) {
    if (p.recheck_ms >= 0) {
      consider(p.recheck_ms);
      continue;
    }
    first = any_fresh ? std::min(first, p.first_ms) : p.first_ms;
    last = any_fresh ? std::max(last, p.last_ms) : p.last_ms;
    any_fresh = true;
  }
  if (any_fresh) consider(std::min(last + options_.quiet_ms, first + options_.max_delay_ms));
  if (!due) return std::nullopt;
  return std::max<std::int64_t>(0, *due - now_ms);
}

std::size_t Batcher::depth() const { return queue_.size(); }

}  // namespace hx
