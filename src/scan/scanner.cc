#include "scan/scanner.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/os_error.h"
#include "json/utf8.h"
#include "scan/file_hasher.h"
#include "scan/walk_tree.h"

namespace hx {
namespace {

// A hash batch closes at this many files or bytes: small enough that both
// workers share a directory of many changed files, large enough that the
// queue is not touched per small file.
constexpr std::size_t kBatchFiles = 32;
constexpr std::uint64_t kBatchBytes = std::uint64_t{1} << 20;
constexpr unsigned kMaxDefaultThreads = 8;
// Longest symlink target read (Linux allows 4095 bytes).
constexpr std::size_t kMaxLinkTarget = 65536;

Error PathError(int error, const std::string& path, const std::string& what) {
  Error result(SyncCode::kStateFailed, CategoryOfErrno(error),
               what + " " + path + ": " + std::strerror(error));
  result.With("path", path)
      .With("errno", std::to_string(error))
      .With("error", std::strerror(error));
  return result;
}

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

// A directory's descriptor, closed through the Env unless borrowed (the
// root's, which ScanVault owns).
struct DirFd {
  DirFd(Env& e, int descriptor, bool owned) : env(e), fd(descriptor), owns(owned) {}
  ~DirFd() {
    if (owns) (void)env.Close(fd);
  }
  DirFd(const DirFd&) = delete;
  DirFd& operator=(const DirFd&) = delete;
  Env& env;
  int fd;
  bool owns;
};

struct DirTask {
  DirNode* node;
  dev_t dev = 0;  // as lstat saw it when the parent was listed
  ino_t ino = 0;
};

struct PendingFile {
  std::string name;
  std::string path;
  FileStat listed;  // lstat when the directory was listed
  // A consuming scan dropped this file's stale cache entry when it listed
  // it: if the file is not put back, its path is one to remove.
  bool had_cache_entry = false;
};

struct HashTask {
  // shared_ptr: every hash batch of a directory's files opens them relative
  // to its descriptor; the batches run on any worker and finish in any
  // order, and the last one closes it.
  std::shared_ptr<const DirFd> dir;
  DirNode* node = nullptr;
  std::size_t slot = 0;
  std::vector<PendingFile> files;
};

// What one worker found besides entries; merged when the walk is over.
struct Output {
  // A map already (not a vector moved into one at the end): the result
  // takes it whole, or splices its nodes, without a second copy of what
  // the scan hashed (a scan that hashed every file: ~10 MB at 100,000).
  StatCache cache_put;
  std::vector<const StatCacheEntry*> cache_reused;  // (not in a consuming scan)
  // A consuming scan: cached paths listed but neither reused nor put.
  std::vector<std::string> cache_dropped;
  std::vector<ScanSkip> skipped;
  std::vector<ScanError> errors;
  ScanStats stats;
};

// Reads a symlink's target into `target`; 0 or the errno.
int ReadLink(Env& env, int dir_fd, const char* name, std::string* target) {
  if (const int err = env.ReadlinkAt(dir_fd, name, target); err != 0) return err;
  return target->size() > kMaxLinkTarget ? ENAMETOOLONG : 0;
}

// Which directories a scoped scan lists (ScanOptions::scope): the parent
// of each scope path and the directories above it, and everything at or
// below a scope path (which may be a directory).
class ScanScope {
 public:
  explicit ScanScope(const std::vector<std::string>& paths) {
    for (const std::string& path : paths) {
      if (path.empty()) everything_ = true;
      roots_.insert(path);
      std::string_view up(path);
      for (std::size_t slash = up.rfind('/'); slash != std::string_view::npos;
           slash = up.rfind('/')) {
        up = up.substr(0, slash);
        listed_.emplace(up);
      }
    }
  }
  // Whether the directory at `path` (not the root) is listed.
  bool Lists(const std::string& path) const {
    if (everything_ || listed_.count(path) != 0) return true;
    std::string_view up(path);
    while (true) {
      if (roots_.count(std::string(up)) != 0) return true;
      const std::size_t slash = up.rfind('/');
      if (slash == std::string_view::npos) return false;
      up = up.substr(0, slash);
    }
  }

 private:
  std::set<std::string> roots_;
  std::set<std::string> listed_;  // (the root is always listed)
  bool everything_ = false;
};

class Walk {
 public:
  // `consumed`: `cache` itself, which the walk takes entries out of as it
  // uses them (null: it only reads `cache`).
  Walk(Env& env, int root_fd, const StatCache& cache, StatCache* consumed, const FastCdc& cdc,
       const ChunkIdFn& chunk_id, const IgnoreRules& ignore, std::int64_t now_ns,
       bool collect_baseline, const ScanScope* scope, ScannedFilesFn on_files)
      : env_(env),
        root_fd_(root_fd),
        cache_(cache),
        consumed_(consumed),
        cdc_(cdc),
        chunk_id_(chunk_id),
        ignore_(ignore),
        now_ns_(now_ns),
        collect_baseline_(collect_baseline),
        scope_(scope),
        root_(std::string()) {
    if (on_files) release_.emplace(root_, std::move(on_files));
  }

  // Walks the vault on `threads` threads, the caller's included; one
  // Output per thread.
  std::vector<Output> Run(int threads) {
    dirs_.push_back(DirTask{&root_});
    std::vector<Output> outputs(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) {
      try {
        workers.emplace_back([this, &outputs, i] { Work(outputs[static_cast<std::size_t>(i)]); });
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

  DirNode& root() { return root_; }
  // Whether what was collected for the baseline describes the scan's
  // entries exactly (see ScanResult::baseline).
  bool baseline_ok() const { return baseline_ok_.load(); }
  // Whether the walk stopped because on_files refused files; else, with
  // on_files, whether every file was handed on.
  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  bool released_all() const { return !release_ || release_->Finished(); }

 private:
  void Work(Output& out);
  // Orders `node`'s files for release_ (walk_tree.h), before `batches` are
  // queued.
  void PlanRelease(DirNode& node, const std::vector<HashTask>& batches);
  // What release_ says after a task: on a refusal, every worker stops.
  void Released(bool go_on);
  void ScanDir(const DirTask& task, Output& out);
  void HashBatch(const HashTask& task, Output& out, ChunkStream& stream);
  void Enqueue(std::vector<DirTask> dirs, std::vector<HashTask> hashes);

  Env& env_;
  const int root_fd_;
  const StatCache& cache_;
  // A consuming scan (ScanVault's StatCache&& form): the cache, whose
  // entries are taken out under cache_mu_ as each file is listed, so that
  // the cache shrinks as the scan's result grows.
  StatCache* const consumed_;
  std::mutex cache_mu_;
  const FastCdc& cdc_;
  const ChunkIdFn& chunk_id_;
  const IgnoreRules& ignore_;
  const std::int64_t now_ns_;
  const bool collect_baseline_;
  const ScanScope* const scope_;  // null: the whole vault
  std::atomic<bool> baseline_ok_{true};
  DirNode root_;
  // With ScanOptions::on_files: hands the files on as the walk goes.
  std::optional<FileRelease> release_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_. Hash batches go first, so few directories' descriptors
  // are open at a time; directories are a stack (depth first), which keeps
  // the queue short.
  std::vector<DirTask> dirs_;
  std::deque<HashTask> hashes_;
  int busy_ = 0;  // tasks being run
  bool stopped_ = false;  // on_files refused: every worker leaves
};

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
                        {nullptr, DirNode::kFromItems, static_cast<std::uint32_t>(i)}});
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
      const bool descend = scope_ == nullptr || scope_->Lists(path);
      node.subdirs.push_back(std::make_unique<DirNode>(std::move(path)));
      if (descend) {
        new_dirs.push_back({node.subdirs.back().get(), st.st_dev, st.st_ino});
      } else {
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
  if (release_) PlanRelease(node, new_hashes);
  // Held until the walk ends (~47 bytes a file): without the slack its
  // appends left (~7.7 MB instead of ~4.8 at 100,000 files).
  node.baseline.shrink_to_fit();
  node.listed = true;
  Enqueue(std::move(new_dirs), std::move(new_hashes));
}

void Walk::HashBatch(const HashTask& task, Output& out, ChunkStream& stream) {
  // One element per file (held until Emit: no doubling's slack), so that a
  // file's place in its batch finds its entry (walk_tree.h).
  std::vector<PathEntry>& results = task.node->hashed[task.slot];
  results.resize(task.files.size());
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
    Entry entry = FileEntry(hashed.stat, hashed.chunks);
    const bool racy =
        std::max(hashed.stat.mtime_ns, hashed.stat.ctime_ns) >= now_ns_ - kRacyWindowNs;
    // The baseline recorded the listed stat: it must be the stat the content
    // was read under, and not racy (a racy stat can outlive a change).
    if (collect_baseline_ && (racy || !(hashed.stat == file.listed))) {
      baseline_ok_.store(false);
    }
    if (!racy) {
      out.cache_put.emplace(file.path, StatCacheEntry{hashed.stat, std::move(hashed.chunks)});
    } else if (file.had_cache_entry) {
      out.cache_dropped.push_back(file.path);
    }
    results[i] = {file.path, std::move(entry)};
  }
}

// The cached paths this scan did not confirm (see StatCacheChanges); with
// `listed` (a scoped scan), only those in a listed directory.
std::vector<std::string> StaleCachePaths(const StatCache& cache, std::vector<Output>& outputs,
                                         const StatCache& put,
                                         const std::vector<std::string>* listed,
                                         bool consumed) {
  if (consumed) {
    // What the walk took out was reused or put, or is in cache_dropped;
    // what is left it never listed (gone, or no longer a regular file), or
    // is below a directory a scoped scan did not list.
    std::vector<std::string> stale;
    for (Output& out : outputs) {
      std::move(out.cache_dropped.begin(), out.cache_dropped.end(), std::back_inserter(stale));
      out.cache_dropped = {};
    }
    for (const auto& [path, entry] : cache) {
      if (listed != nullptr) {
        const std::size_t slash = path.rfind('/');
        const std::string parent =
            slash == std::string::npos ? std::string() : path.substr(0, slash);
        if (!std::binary_search(listed->begin(), listed->end(), parent)) continue;
      }
      stale.push_back(path);
    }
    std::sort(stale.begin(), stale.end());
    return stale;
  }
  std::vector<const StatCacheEntry*> reused;
  for (Output& out : outputs) {
    reused.insert(reused.end(), out.cache_reused.begin(), out.cache_reused.end());
  }
  std::vector<std::string> stale;
  // The common case, nothing deleted or changed, costs no pass over the
  // cache: every entry was reused exactly once.
  if (reused.size() == cache.size()) {
    return stale;
  }
  std::sort(reused.begin(), reused.end());
  const auto in_listed_dir = [listed](const std::string& path) {
    if (listed == nullptr) return true;
    const std::size_t slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
    return std::binary_search(listed->begin(), listed->end(), parent);
  };
  for (const auto& [path, entry] : cache) {
    if (in_listed_dir(path) && !std::binary_search(reused.begin(), reused.end(), &entry) && !put.contains(path)) {
      stale.push_back(path);
    }
  }
  std::sort(stale.begin(), stale.end());
  return stale;
}

}  // namespace

std::string_view ToString(ScanSkipReason reason) {
  switch (reason) {
    case ScanSkipReason::kInvalidName:
      return "invalid_name";
    case ScanSkipReason::kSpecialFile:
      return "special_file";
    case ScanSkipReason::kInvalidSymlinkTarget:
      return "invalid_symlink_target";
  }
  return "unknown";
}

namespace {

// ScanVault, reading `cache`, or with `consumed` (== &cache) taking its
// entries out as it goes and freeing what is left at the end.
Result<ScanResult> Scan(const std::filesystem::path& root, const ScanOptions& options,
                        const StatCache& cache, StatCache* consumed, const FastCdc& cdc,
                        const ChunkIdFn& chunk_id) {
  Env& env = options.env != nullptr ? *options.env : Env::Default();
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
  const DirFd close_root(env, root_fd, /*owned=*/true);
  HX_ASSIGN_OR_RETURN(IgnoreRules rules, LoadIgnoreFile(root, root_fd, env));

  int threads = options.threads;
  if (threads <= 0) {
    threads =
        static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, kMaxDefaultThreads));
  }
  Clock& clock = options.clock != nullptr ? *options.clock : env.clock();
  std::optional<ScanScope> scope;
  if (options.scope) scope.emplace(*options.scope);
  Walk walk(env, root_fd, cache, consumed, cdc, chunk_id, rules, options.now_ns.value_or(clock.WallNs()),
            options.collect_baseline && !scope, scope ? &*scope : nullptr,
            scope ? nullptr : options.on_files);
  std::vector<Output> outputs = walk.Run(threads);
  if (walk.stopped()) {
    return Error(SyncCode::kInternal, Category::kAborted,
                 "the scan was stopped: the files it handed on were refused");
  }

  ScanResult result;
  if (scope) {
    result.listed_dirs.emplace();
    CollectListed(walk.root(), *result.listed_dirs);
    std::sort(result.listed_dirs->begin(), result.listed_dirs->end());
  }
  for (Output& out : outputs) {
    for (ScanError& error : out.errors) {
      // The root could not be listed: there is no result to speak of.
      if (error.path.empty()) {
        return std::move(error.error);
      }
    }
  }
  if (options.collect_baseline && !scope && walk.baseline_ok()) {
    // Before Emit, which moves the tree's entries away (not its baseline).
    std::vector<std::pair<std::string, std::string>> dirs;
    if (CollectBaseline(walk.root(), dirs)) {
      result.baseline = MakeScanBaselineFromBlocks(rules.source_digest(), std::move(dirs));
    }
  }
  if (!walk.released_all()) {
    return Error(SyncCode::kInternal, Category::kInternal,
                 "the scan handed on fewer files than it found");
  }
  Emit(walk.root(), result.entries);
  for (Output& out : outputs) {
    // Every path is in one output only: the merge splices every node.
    if (result.stat_changes.put.empty()) {
      result.stat_changes.put = std::move(out.cache_put);
    } else {
      result.stat_changes.put.merge(out.cache_put);
    }
    out.cache_put = StatCache();
    std::move(out.skipped.begin(), out.skipped.end(), std::back_inserter(result.skipped));
    std::move(out.errors.begin(), out.errors.end(), std::back_inserter(result.errors));
    result.stats.files_hashed += out.stats.files_hashed;
    result.stats.bytes_hashed += out.stats.bytes_hashed;
    result.stats.files_from_cache += out.stats.files_from_cache;
    result.stats.ignored += out.stats.ignored;
  }
  result.stat_changes.remove =
      StaleCachePaths(cache, outputs, result.stat_changes.put,
                      result.listed_dirs ? &*result.listed_dirs : nullptr, consumed != nullptr);
  if (consumed != nullptr) StatCache().swap(*consumed);
  for (const auto& [path, entry] : result.entries) {
    switch (entry.kind) {
      case EntryKind::kFile:
        ++result.stats.files;
        break;
      case EntryKind::kDir:
        ++result.stats.dirs;
        break;
      case EntryKind::kSymlink:
        ++result.stats.symlinks;
        break;
      case EntryKind::kTombstone:
        break;
    }
  }
  std::sort(result.skipped.begin(), result.skipped.end(),
            [](const ScanSkip& a, const ScanSkip& b) { return a.path < b.path; });
  std::sort(result.errors.begin(), result.errors.end(),
            [](const ScanError& a, const ScanError& b) { return a.path < b.path; });
  if (!result.errors.empty() || !result.skipped.empty()) {
    result.baseline.reset();
  }
  result.ignore_rules = std::move(rules);
  return result;
}

}  // namespace

Result<ScanResult> ScanVault(const std::filesystem::path& root, const ScanOptions& options,
                             const StatCache& cache, const FastCdc& cdc,
                             const ChunkIdFn& chunk_id) {
  return Scan(root, options, cache, nullptr, cdc, chunk_id);
}

Result<ScanResult> ScanVault(const std::filesystem::path& root, const ScanOptions& options,
                             StatCache&& cache, const FastCdc& cdc, const ChunkIdFn& chunk_id) {
  return Scan(root, options, cache, &cache, cdc, chunk_id);
}

}  // namespace hx
