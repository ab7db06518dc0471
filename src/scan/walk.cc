// The scanner's walk (walk.h): listing a directory, hashing its changed
// files.
#include "scan/walk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <thread>

#include "base/clock.h"
#include "base/os_error.h"
#include "json/utf8.h"
#include "scan/file_hasher.h"

namespace hx::scan_internal {
namespace {

// A hash batch closes at this many files or bytes: small enough that both
// workers share a directory of many changed files, large enough that the
// queue is not touched per small file.
constexpr std::size_t kBatchFiles = 32;
constexpr std::uint64_t kBatchBytes = std::uint64_t{1} << 20;
// Longest symlink target read (Linux allows 4095 bytes).
constexpr std::size_t kMaxLinkTarget = 65536;
constexpr unsigned kMaxDefaultThreads = 8;

Error ChangedWhileScanning(const std::string& path, const std::string& why) {
  Error error(SyncCode::kStateFailed, Category::kAborted,
              path + " changed while hx was scanning it (" + why +
                  "); it is left as it was and a later sync will pick it up");
  error.With("path", path);
  return error;
}

// A path for display: bytes that are not valid UTF-8 become "\xNN".
std::string DisplayPath(std::string_view path) {
  std::string out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    const Utf8Char c = DecodeUtf8At(path, pos);
    if (c.problem) {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", static_cast<unsigned char>(path[pos]));
      out += escaped;
      ++pos;
    } else {
      out.append(path.substr(pos, c.length));
      pos += c.length;
    }
  }
  return out;
}

Entry FileEntry(const FileStat& stat, std::vector<ChunkRef> chunks) {
  Entry entry;
  entry.kind = EntryKind::kFile;
  entry.size = stat.size;
  entry.chunks = std::move(chunks);
  entry.executable = (stat.mode & S_IXUSR) != 0;
  entry.mtime_ns = stat.mtime_ns;
  return entry;
}

// Reads a symlink's target into `target`; 0 or the errno.
int ReadLink(Env& env, int dir_fd, const char* name, std::string* target) {
  if (const int err = env.ReadlinkAt(dir_fd, name, target); err != 0) return err;
  return target->size() > kMaxLinkTarget ? ENAMETOOLONG : 0;
}

}  // namespace

Error PathError(int error, const std::string& path, const std::string& what) {
  Error result(SyncCode::kStateFailed, CategoryOfErrno(error),
               what + " " + path + ": " + std::strerror(error));
  result.With("path", path)
      .With("errno", std::to_string(error))
      .With("error", std::strerror(error));
  return result;
}


int ScanThreads(const ScanOptions& options) {
  if (options.threads > 0) return options.threads;
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, kMaxDefaultThreads));
}

Result<int> OpenVaultRoot(Env& env, const std::filesystem::path& root) {
  int root_fd = -1;
  if (const int error = env.Open(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY, 0, &root_fd);
      error != 0) {
    if (error == ENOENT || error == ENOTDIR) {
      return Error(SyncCode::kStateFailed, Category::kNotFound,
                   "the vault folder " + root.string() +
                       " is missing or not a directory (is its disk mounted?)")
          .With("path", root.string())
          .With("errno", std::to_string(error));
    }
    return PathError(error, root.string(), "cannot open the vault folder");
  }
  return root_fd;
}

std::vector<Output> Walk::Run(int threads) {
  std::vector<Output> outputs(static_cast<std::size_t>(threads));
  std::size_t spawn = static_cast<std::size_t>(threads) - 1;
  if (!descend_) {
    // One directory: listed here first, then hashed by as many workers as
    // it has batches beyond one, so that a directory with nothing to hash
    // (the common case, one call per directory) starts no thread.
    ScanDir(DirTask{&root_, root_.dev, root_.ino}, outputs[0]);
    std::lock_guard lock(mu_);
    spawn = std::min(spawn, hashes_.empty() ? 0 : hashes_.size() - 1);
  } else {
    dirs_.push_back(DirTask{&root_, root_.dev, root_.ino});
  }
  std::vector<std::thread> workers;
  for (std::size_t i = 1; i <= spawn; ++i) {
    try {
      workers.emplace_back([this, &outputs, i] { Work(outputs[i]); });
    } catch (const std::system_error&) {
      break;  // fewer threads; the walk still completes
    }
  }
  Work(outputs[0]);
  for (std::thread& worker : workers) {
    worker.join();
  }
  return outputs;
}

void Walk::Work(Output& out) {
  ChunkStream stream(cdc_, nullptr);
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock,
             [this] { return stopped_ || !hashes_.empty() || !dirs_.empty() || busy_ == 0; });
    if (stopped_) {
      break;  // (what is still queued goes with the walk)
    } else if (!hashes_.empty()) {
      HashTask task = std::move(hashes_.front());
      hashes_.pop_front();
      ++busy_;
      lock.unlock();
      HashBatch(task, out, stream);
      if (release_) Released(release_->BatchDone(*task.node, task.slot));
      task = HashTask{};  // close the directory outside the lock
    } else if (!dirs_.empty()) {
      const DirTask task = dirs_.back();
      dirs_.pop_back();
      ++busy_;
      lock.unlock();
      ScanDir(task, out);
      if (release_) Released(release_->Settled(*task.node));
    } else {
      break;  // nothing queued and nothing running: the walk is over
    }
    lock.lock();
    if (--busy_ == 0 && hashes_.empty() && dirs_.empty()) {
      cv_.notify_all();
    }
  }
  lock.unlock();
  cv_.notify_all();
}

void Walk::Released(bool go_on) {
  if (go_on) return;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

void Walk::PlanRelease(DirNode& node, const std::vector<HashTask>& batches) {
  std::vector<FileRelease::Child> children;
  const std::size_t offset = node.name_offset();
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    if (node.items[i].second.kind != EntryKind::kFile) continue;
    children.push_back({std::string_view(node.items[i].first).substr(offset),
                        {nullptr, ReleaseStep::kFromItems, static_cast<std::uint32_t>(i)}});
  }
  for (std::size_t b = 0; b < batches.size(); ++b) {
    for (std::size_t i = 0; i < batches[b].files.size(); ++i) {
      children.push_back({batches[b].files[i].name,
                          {nullptr, static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(i)}});
    }
  }
  for (const std::unique_ptr<DirNode>& dir : node.subdirs) {
    children.push_back({std::string_view(dir->path).substr(offset), {dir.get(), 0, 0}});
  }
  FileRelease::Plan(node, std::move(children), batches.size());
}

void Walk::Enqueue(std::vector<DirTask> dirs, std::vector<HashTask> hashes) {
  if (dirs.empty() && hashes.empty()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    dirs_.insert(dirs_.end(), dirs.begin(), dirs.end());
    for (HashTask& hash : hashes) {
      hashes_.push_back(std::move(hash));
    }
  }
  cv_.notify_all();
}

void Walk::ScanDir(const DirTask& task, Output& out) {
  DirNode& node = *task.node;
  const std::string& dir_path = node.path;
  const bool is_root = dir_path.empty();
  // Subdirectories are opened by path from the root without following a
  // final symlink, then checked against the (dev, inode) seen when the
  // parent was listed: if any component was swapped for a symlink
  // meanwhile, the inode differs and nothing outside the vault is read.
  int fd = root_fd_;
  if (const int error = is_root ? 0
                                : env_.Open(root_fd_, dir_path.c_str(),
                                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &fd);
      error != 0) {
    if (error == ENOENT) {
      return;  // deleted since its parent was listed
    }
    if (error == ENOTDIR || error == ELOOP) {
      out.errors.push_back({dir_path, ChangedWhileScanning(dir_path, "not a directory now")});
    } else {
      out.errors.push_back({dir_path, PathError(error, dir_path, "cannot open the directory")});
    }
    return;
  }
  const auto dir = std::make_shared<const DirFd>(env_, fd, /*owned=*/!is_root);
  if (!is_root) {
    struct stat st {};
    if (const int err = env_.Fstat(fd, &st); err != 0) {
      out.errors.push_back({dir_path, PathError(err, dir_path, "cannot stat the directory")});
      return;
    }
    if (st.st_dev != task.dev || st.st_ino != task.ino) {
      out.errors.push_back({dir_path, ChangedWhileScanning(dir_path, "replaced")});
      return;
    }
  }
  // The whole listing at once: if it fails, the directory is one error
  // and its base state is kept whole (see ScanError).
  std::vector<DirEntry> listing;
  if (const int err = env_.ReadDir(fd, &listing); err != 0) {
    out.errors.push_back({dir_path, PathError(err, dir_path, "cannot list the directory")});
    return;
  }

  std::vector<DirTask> new_dirs;
  std::vector<HashTask> new_hashes;
  HashTask batch;
  std::uint64_t batch_bytes = 0;
  auto flush_batch = [&] {
    if (!batch.files.empty()) {
      batch.dir = dir;
      batch.node = &node;
      batch.slot = new_hashes.size();
      new_hashes.push_back(std::move(batch));
      batch = HashTask{};
      batch_bytes = 0;
    }
  };

  for (const DirEntry& item : listing) {
    const std::string_view name(item.name);
    if (is_root && name == kStateDirName) {
      continue;
    }
    std::string path = is_root ? std::string(name) : dir_path + '/' + std::string(name);
    struct stat st {};
    if (const int error = env_.StatAt(fd, item.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
        error != 0) {
      if (error != ENOENT) {
        // The name is not validated yet: errors must stay valid UTF-8.
        const std::string shown = DisplayPath(path);
        out.errors.push_back({shown, PathError(error, shown, "cannot stat")});
      }
      continue;
    }
    const bool is_dir = S_ISDIR(st.st_mode);
    if (ignore_.Matches(path, is_dir)) {
      ++out.stats.ignored;
      continue;
    }
    if (!IsValidEntryName(name)) {
      out.skipped.push_back({DisplayPath(path), ScanSkipReason::kInvalidName});
      continue;
    }
    if (is_dir) {
      if (collect_baseline_) AppendBaselineChild(node.baseline, name, BaselineKind::kDir, {}, {});
      const bool descend = descend_ && (scope_ == nullptr || scope_->Lists(path));
      node.subdirs.push_back(std::make_unique<DirNode>(std::move(path)));
      node.subdirs.back()->dev = st.st_dev;
      node.subdirs.back()->ino = st.st_ino;
      if (descend) {
        new_dirs.push_back({node.subdirs.back().get(), st.st_dev, st.st_ino});
      } else if (descend_) {
        node.subdirs.back()->out_of_scope = true;
      }
    } else if (S_ISREG(st.st_mode)) {
      const FileStat fresh = FileStatOf(st);
      if (collect_baseline_) AppendBaselineChild(node.baseline, name, BaselineKind::kFile, fresh, {});
      if (consumed_ != nullptr) {
        StatCache::node_type taken;
        {
          std::lock_guard lock(cache_mu_);
          taken = consumed_->extract(path);
        }
        if (!taken.empty() && SameStatForCache(taken.mapped().stat, fresh)) {
          node.items.emplace_back(std::move(path),
                                  FileEntry(fresh, std::move(taken.mapped().chunks)));
          ++out.stats.files_from_cache;
        } else {
          batch.files.push_back({std::string(name), std::move(path), fresh, !taken.empty()});
          batch_bytes += fresh.size;
          if (batch.files.size() >= kBatchFiles || batch_bytes >= kBatchBytes) {
            flush_batch();
          }
        }
        continue;
      }
      const auto cached = cache_.find(path);
      if (cached != cache_.end() && SameStatForCache(cached->second.stat, fresh)) {
        out.cache_reused.push_back(&cached->second);
        node.items.emplace_back(std::move(path), FileEntry(fresh, cached->second.chunks));
        ++out.stats.files_from_cache;
      } else {
        batch.files.push_back({std::string(name), std::move(path), fresh});
        batch_bytes += fresh.size;
        if (batch.files.size() >= kBatchFiles || batch_bytes >= kBatchBytes) {
          flush_batch();
        }
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::optional<std::string> target(std::in_place);
      if (const int error = ReadLink(env_, fd, item.name.c_str(), &*target); error != 0) {
        if (error != ENOENT) {
          out.errors.push_back({path, PathError(error, path, "cannot read the symlink")});
        }
        continue;
      }
      if (FindInvalidUtf8(*target)) {
        out.skipped.push_back({DisplayPath(path), ScanSkipReason::kInvalidSymlinkTarget});
        continue;
      }
      if (collect_baseline_) {
        AppendBaselineChild(node.baseline, name, BaselineKind::kSymlink, {}, *target);
      }
      Entry entry;
      entry.kind = EntryKind::kSymlink;
      entry.symlink_target = std::move(*target);
      node.items.emplace_back(std::move(path), std::move(entry));
    } else {
      out.skipped.push_back({DisplayPath(path), ScanSkipReason::kSpecialFile});
    }
  }
  flush_batch();
  node.hashed.resize(new_hashes.size());
  if (cache_stats_in_nodes_) node.hashed_stats.resize(new_hashes.size());
  if (release_) PlanRelease(node, new_hashes);
  // Held until the walk ends (~47 bytes a file): without the slack its
  // appends left (~7.7 MB instead of ~4.8 at 100,000 files).
  node.baseline.shrink_to_fit();
  node.listed = true;
  Enqueue(std::move(new_dirs), std::move(new_hashes));
}

void Walk::HashBatch(const HashTask& task, Output& out, ChunkStream& stream) {
  // One element per file (held until Emit: no doubling's slack), so that a
  // file's place in its batch finds its entry (file_release.h); a file not
  // read leaves an empty path there.
  std::vector<PathEntry>& results = task.node->hashed[task.slot];
  results.resize(task.files.size());
  std::vector<FileStat>* const stats =
      cache_stats_in_nodes_ ? &task.node->hashed_stats[task.slot] : nullptr;
  if (stats != nullptr) stats->resize(task.files.size());
  for (std::size_t i = 0; i < task.files.size(); ++i) {
    const PendingFile& file = task.files[i];
    HashFileOutcome outcome =
        HashFile(env_, task.dir->fd, file.name, file.path, stream, chunk_id_);
    if (outcome.reads > 0) {
      ++out.stats.files_hashed;
    }
    out.stats.bytes_hashed += outcome.bytes_read;
    if (outcome.error) {
      if (file.had_cache_entry) out.cache_dropped.push_back(file.path);
      out.errors.push_back({file.path, std::move(*outcome.error)});
      continue;
    }
    if (!outcome.file) {
      if (file.had_cache_entry) out.cache_dropped.push_back(file.path);
      baseline_ok_.store(false);  // listed, then vanished
      continue;
    }
    HashedFile& hashed = *outcome.file;
    // (The chunk list is copied only when the cache keeps one of its own.)
    Entry entry = stats != nullptr ? FileEntry(hashed.stat, std::move(hashed.chunks))
                                   : FileEntry(hashed.stat, hashed.chunks);
    const bool racy =
        std::max(hashed.stat.mtime_ns, hashed.stat.ctime_ns) >= now_ns_ - kRacyWindowNs;
    // The baseline recorded the listed stat: it must be the stat the content
    // was read under, and not racy (a racy stat can outlive a change).
    if (collect_baseline_ && (racy || !(hashed.stat == file.listed))) {
      baseline_ok_.store(false);
    }
    if (!racy && stats != nullptr) {
      (*stats)[i] = hashed.stat;
    } else if (!racy) {
      out.cache_put.emplace(file.path, StatCacheEntry{hashed.stat, std::move(hashed.chunks)});
    } else if (file.had_cache_entry) {
      out.cache_dropped.push_back(file.path);
    }
    results[i] = {file.path, std::move(entry)};
  }
}

// Moves the entries of `node`'s subtree into `out` in path (byte) order
// (path_order.h), so that every insertion is at the end. Sorting short

}  // namespace hx::scan_internal
