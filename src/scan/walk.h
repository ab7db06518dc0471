// The scanner's walk (scanner.h), shared by ScanVault and DirectoryScanner
// (directory_scan.h): how one directory is listed (the rules of scanner.h:
// ignore rules, special files, invalid names, symlinks) and how its changed
// files are hashed, on a small pool of threads. Internal to the scan module.
//
// Thread-safety: a Walk is run once (Run), by one thread, which it joins
// with its own workers; see DirNode for what each task may touch.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <atomic>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chunk/fastcdc.h"
#include "os/env.h"
#include "scan/file_hasher.h"
#include "scan/file_release.h"
#include "scan/scanner.h"

namespace hx::scan_internal {

// The error of a failed call on `path` (KC_SYNC_STATE_FAILED, the errno's
// category).
Error PathError(int error, const std::string& path, const std::string& what);

// The worker threads a scan runs with `options.threads` (0: one per core,
// at most 8).
int ScanThreads(const ScanOptions& options);

// Opens the vault root for a scan: errors as ScanVault's for a missing or
// unreadable root.
Result<int> OpenVaultRoot(Env& env, const std::filesystem::path& root);

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

using PathEntry = std::pair<std::string, Entry>;

// One directory of the walk and what was found in it. The task that lists
// it fills `listed`, `items`, `subdirs` and sizes `hashed`; each hash batch
// then fills its own slot of `hashed`. The queue's mutex orders the listing
// before the batches, and joining the workers orders everything before the
// merge; with a FileRelease (file_release.h), its mutex orders both before
// the cursor reads them (it reads a node only once `settled`, a batch only
// once done).
struct DirNode {
  explicit DirNode(std::string dir_path) : path(std::move(dir_path)) {}

  std::string path;  // "" for the root
  // As lstat saw the directory when its parent was listed (the root: 0).
  dev_t dev = 0;
  ino_t ino = 0;
  bool listed = false;
  // A directory a scoped scan (ScanOptions::scope) did not descend into:
  // its entry is reported, its children are not.
  bool out_of_scope = false;
  std::vector<PathEntry> items;  // symlinks and files from the stat cache
  std::vector<std::unique_ptr<DirNode>> subdirs;
  // One slot per hash batch, one element per file of the batch: a file
  // that could not be read (or vanished) leaves an empty path there.
  std::vector<std::vector<PathEntry>> hashed;
  // With a walk that keeps cache stats in its nodes: per element of
  // `hashed`, the stat its chunks were read under, for the stat cache
  // (mode 0: none: a racy file, or one not read).
  std::vector<std::vector<FileStat>> hashed_stats;
  std::string baseline;  // with collect_baseline: every child listed (AppendBaselineChild)

  // With a FileRelease (guarded by its mutex once the node is settled):
  // the node's regular files and subdirectories in path order, which hash
  // batches are done, and whether the walk is done listing it (listed or
  // failed).
  std::vector<ReleaseStep> order;
  std::vector<char> batch_done;
  bool settled = false;

  // Where a child's name starts in its path.
  std::size_t name_offset() const { return path.empty() ? 0 : path.size() + 1; }
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

// The walk of the vault (ScanVault), or of one directory (DirectoryScanner):
// listing and hashing on a pool of threads.
// Where a walk starts: the root, or (`descend` false) one directory whose
// children alone are listed and hashed: its subdirectories are recorded in
// Walk::root().subdirs with their dev and inode, not listed.
struct WalkStart {
  std::string path;  // "" for the vault root
  dev_t dev = 0;     // a directory other than the root: as its parent's
  ino_t ino = 0;     // listing saw it
  bool descend = true;
};

class Walk {
 public:
  // `consumed`: `cache` itself, which the walk takes entries out of as it
  // uses them (null: it only reads `cache`).
  Walk(Env& env, int root_fd, const StatCache& cache, StatCache* consumed, const FastCdc& cdc,
       const ChunkIdFn& chunk_id, const IgnoreRules& ignore, std::int64_t now_ns,
       bool collect_baseline, const ScanScope* scope, WalkStart start = WalkStart(),
       ScannedFilesFn on_files = nullptr, bool cache_stats_in_nodes = false)
      : env_(env),
        root_fd_(root_fd),
        cache_(cache),
        consumed_(consumed),
        cdc_(cdc),
        chunk_id_(chunk_id),
        ignore_(ignore),
        now_ns_(now_ns),
        collect_baseline_(collect_baseline),
        cache_stats_in_nodes_(cache_stats_in_nodes),
        scope_(scope),
        descend_(start.descend),
        root_(std::move(start.path)) {
    root_.dev = start.dev;
    root_.ino = start.ino;
    if (on_files) release_.emplace(root_, std::move(on_files));
  }

  // Walks on `threads` threads, the caller's included; one Output per
  // thread.
  std::vector<Output> Run(int threads);

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
  // Orders `node`'s files for release_ (file_release.h), before `batches`
  // are queued.
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
  // What a hashed file gives the stat cache goes to DirNode::hashed_stats,
  // not to Output::cache_put (ScanOptions::cache_stats_in_entries).
  const bool cache_stats_in_nodes_;
  const ScanScope* const scope_;  // null: the whole vault
  const bool descend_;
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

}  // namespace hx::scan_internal
