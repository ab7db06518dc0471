#include "sync/apply.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/os_error.h"
#include "hash/blake3.h"
#include "os/vault_dir.h"
#include "os/writeback.h"
#include "sync/apply_sync.h"
#include "versions/versions.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

// Names staged files uniquely within the process (ApplyPlan and
// StageRemoteVersion may both stage during one pull).
std::atomic<std::uint64_t> staging_counter{0};

FileStat ToFileStat(const struct stat& st) {
  FileStat f;
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  f.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  f.inode = static_cast<std::uint64_t>(st.st_ino);
  f.mode = static_cast<std::uint32_t>(st.st_mode);
  return f;
}

// Whether `st` (what is at `path` now; null: nothing) is what the scan saw:
// the same kind and, for files, the same size, mtime, ctime and inode;
// absent if the scan saw nothing there.
bool MatchesScan(const ApplyInput& in, const std::string& path, const struct stat* st) {
  const bool exists = st != nullptr;
  auto seen = in.scan->entries.find(path);
  if (seen == in.scan->entries.end()) return !exists;
  if (!exists) return false;
  switch (seen->second.kind) {
    case EntryKind::kDir:
      return S_ISDIR(st->st_mode);
    case EntryKind::kSymlink:
      return S_ISLNK(st->st_mode);
    case EntryKind::kFile: {
      if (!S_ISREG(st->st_mode)) return false;
      const FileStat now = ToFileStat(*st);
      // The stat the scan saw: what it read, or the cache entry it kept.
      const auto& changes = in.scan->stat_changes;
      auto fresh = changes.put.find(path);
      if (fresh != changes.put.end()) return SameStatForCache(fresh->second.stat, now);
      auto kept = in.cache->find(path);
      if (kept != in.cache->end() &&
          !std::binary_search(changes.remove.begin(), changes.remove.end(), path)) {
        return SameStatForCache(kept->second.stat, now);
      }
      // Racy files are not in the fresh cache: size and mtime must match.
      return now.size == seen->second.size && now.mtime_ns == seen->second.mtime_ns;
    }
    case EntryKind::kTombstone:
      return false;
  }
  return false;
}

std::string ParentOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// Carries out one ApplyPlan (or one StageRemoteVersion): every call through
// the vault's VaultDir and the input's Env.
class Applier {
 public:
  Applier(const ApplyInput& input, ObjectFetcher& fetcher)
      : in_(input), fetcher_(fetcher), env_(*input.env), syncer_(*input.env) {}
  ~Applier() {
    if (local_ && in_.local_chunk_stats != nullptr) {
      LocalChunkStats& out = *in_.local_chunk_stats;
      out.chunks += local_->stats().chunks;
      out.bytes += local_->stats().bytes;
      out.mismatches += local_->stats().mismatches;
      out.unreadable += local_->stats().unreadable;
    }
  }

  // Finds which of `wanted` local files held when scanned (only with
  // in_.chunk_id): those are read from there, not fetched.
  void FindLocalChunks(const LocalChunks::IdSet& wanted) {
    if (!in_.chunk_id || wanted.empty()) return;
    local_.emplace(LocalChunks::Find(in_.scan->entries, in_.cache, in_.base, wanted, in_.chunk_id));
  }
  bool HasLocal(const ObjectId& id) const { return local_ && local_->Has(id); }

  // Opens the vault root and the staging directory (created if missing).
  Status Open() {
    HX_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(env_, in_.vault));
    vault_.emplace(std::move(dir));
    const std::string staging_rel = in_.staging.lexically_relative(in_.vault).generic_string();
    HX_ASSIGN_OR_RETURN(staging_, vault_->OpenDir(staging_rel, VaultArea::kState, true));
    return OkStatus();
  }

  // The re-check, through the VaultDir (a parent that is a symlink or not a
  // directory is an error: the item fails, naming the path), for items in
  // path order: each parent directory is looked up once for the items
  // beside each other in it (opened, or found missing, and then so is what
  // is beneath it), not once an item: a first pull of 100,000 files into an
  // empty folder made 100,000 failed opens of directories that were not
  // there. Only a check: Install looks again, through a directory opened
  // for that item, right before it renames.
  class ScanCheck {
   public:
    explicit ScanCheck(const Applier& applier) : applier_(applier) {}
    Result<bool> StillAsScanned(const std::string& path) {
      HX_RETURN_IF_ERROR(VaultDir::CheckPath(path, VaultArea::kContent));
      const std::size_t slash = path.rfind('/');
      const std::string_view parent =
          slash == std::string::npos ? std::string_view() : std::string_view(path).substr(0, slash);
      // Nothing is beneath a directory found missing (or a file).
      if (missing_ && (parent == *missing_ || (parent.starts_with(*missing_) &&
                                               parent.size() > missing_->size() &&
                                               parent[missing_->size()] == '/'))) {
        return MatchesScan(applier_.in_, path, nullptr);
      }
      if (!looked_ || parent != parent_) {
        // (A parent that cannot be looked at, rare, is looked at again for
        // each item, so that each error names its own path.)
        looked_ = false;
        dir_.reset();
        HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> slot,
                            applier_.vault_->FindParent(path, VaultArea::kContent));
        if (slot) {
          dir_ = std::move(slot->dir);
        } else {
          missing_ = std::string(parent);
        }
        parent_ = std::string(parent);
        looked_ = true;
      }
      if (!dir_) return MatchesScan(applier_.in_, path, nullptr);
      const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
      struct stat st;
      const int err = applier_.env_.StatAt(dir_->get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW);
      if (err == ENOENT || err == ENOTDIR) return MatchesScan(applier_.in_, path, nullptr);
      if (err != 0) return applier_.vault_->PathError("cannot inspect", path, err);
      return MatchesScan(applier_.in_, path, &st);
    }

   private:
    const Applier& applier_;
    bool looked_ = false;
    std::string parent_;
    std::optional<Fd> dir_;  // the parent, if it is there
    std::optional<std::string> missing_;  // the last parent found missing
  };

  // Unlinks the file or symlink at `path` if it is still as scanned (false:
  // it changed, left alone). Already gone: done.
  Result<bool> RemoveFile(const std::string& path) {
    HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> slot,
                        vault_->FindParent(path, VaultArea::kContent));
    if (!slot) return true;  // nothing there any more
    struct stat st;
    const int err = vault_->StatIn(*slot, &st);
    if (err == ENOENT) return true;
    if (err != 0) return vault_->PathError("cannot inspect", path, err);
    if (!MatchesScan(in_, path, &st)) return false;
    if (const int e = env_.UnlinkAt(slot->dir.get(), slot->name.c_str(), 0); e != 0 && e != ENOENT)
      return vault_->PathError("cannot delete", path, e);
    return true;
  }

  // true: removed (or already gone); false: not empty.
  Result<bool> RemoveDir(const std::string& path) {
    HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> slot,
                        vault_->FindParent(path, VaultArea::kContent));
    if (!slot) return true;  // nothing there any more
    const int err = env_.UnlinkAt(slot->dir.get(), slot->name.c_str(), AT_REMOVEDIR);
    if (err == 0 || err == ENOENT) return true;
    if (err == ENOTEMPTY || err == EEXIST) return false;
    return vault_->PathError("cannot remove directory", path, err);
  }

  Status MakeDir(const std::string& path) {
    HX_ASSIGN_OR_RETURN(Fd dir, vault_->OpenDir(path, VaultArea::kContent, /*create=*/true));
    return OkStatus();
  }

  // Staged files are named by a number, so a pull that stages 100,000
  // files keeps numbers, not paths, until it installs them.
  static std::uint64_t NextStagingId() { return staging_counter.fetch_add(1); }
  std::string StagingName(std::uint64_t id) const {
    return staging_prefix_ + std::to_string(id) + ".tmp";
  }
  fs::path StagingPath(std::uint64_t id) const { return in_.staging / StagingName(id); }
  void DropStaged(std::uint64_t id) {
    (void)env_.UnlinkAt(staging_.get(), StagingName(id).c_str(), 0);
  }

  // The slot of `path` (its parent opened, created with `create`) if what
  // is there is still as scanned; nullopt if it changed. A check that cannot
  // look is its error, naming the path.
  Result<std::optional<VaultSlot>> SlotIfAsScanned(const std::string& path, bool create) {
    HX_ASSIGN_OR_RETURN(VaultSlot slot, vault_->OpenParent(path, VaultArea::kContent, create));
    struct stat st;
    const int err = vault_->StatIn(slot, &st);
    if (err != 0 && err != ENOENT) return vault_->PathError("cannot inspect", path, err);
    if (!MatchesScan(in_, path, err == 0 ? &st : nullptr)) return std::optional<VaultSlot>();
    return std::optional<VaultSlot>(std::move(slot));
  }

  // The displaced version of a remote deletion: the local version at `path`
  // (if still as scanned) is renamed to d's name. false: it changed.
  Result<bool> MoveAside(const std::string& path, const Displacement& d,
                         std::unique_ptr<std::string>* where) {
    HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> found, SlotIfAsScanned(path, false));
    if (!found) return false;
    HX_ASSIGN_OR_RETURN(std::string kept, MoveKeeping(*vault_, *found, path, d));
    *where = std::make_unique<std::string>(std::move(kept));
    return true;
  }

  // A directory replacing the local version at `path` (if still as
  // scanned), which is kept at d's name: an empty directory is staged and
  // swapped in (displace.h). false: it changed.
  Result<bool> MakeDirDisplacing(const std::string& path, const Displacement& d,
                                 std::unique_ptr<std::string>* where) {
    HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> found, SlotIfAsScanned(path, true));
    if (!found) return false;
    const std::uint64_t id = NextStagingId();
    const std::string staged = StagingName(id);
    if (const int made = env_.MkdirAt(staging_.get(), staged.c_str(), 0777); made != 0) {
      return OsError(SyncCode::kApplyFailed, "cannot create directory", StagingPath(id), made)
          .With("path", vault_->Full(path).string());
    }
    Result<std::string> kept =
        ReplaceKeeping(*vault_, *found, path, /*old_is_dir=*/false,
                       StagedVersion{staging_.get(), staged, /*is_dir=*/true}, d);
    if (!kept.ok()) {
      (void)env_.UnlinkAt(staging_.get(), staged.c_str(), AT_REMOVEDIR);
      return std::move(kept).error();
    }
    *where = std::make_unique<std::string>(std::move(*kept));
    dirs_to_sync_.insert(ParentOf(path));
    return true;
  }

  // Moves the staged file into place if the target is still as scanned (or
  // still absent, when an earlier phase removed the directory it replaces):
  // the check and the rename are relative to the same directory descriptor,
  // opened (and created) beneath the vault root without following a
  // symlink. A target the scan saw absent is never replaced (something
  // that appeared since is a local change). *after: the installed file's
  // stat. With `displace`, the version there is kept at its name (apply.h)
  // and *where says where it went.
  Result<bool> Install(std::uint64_t id, const std::string& path, bool freed,
                       const Displacement* displace, std::optional<FileStat>* after,
                       std::unique_ptr<std::string>* where) {
    Result<VaultSlot> slot = vault_->OpenParent(path, VaultArea::kContent, /*create=*/true);
    if (!slot.ok()) {
      DropStaged(id);
      return std::move(slot).error();
    }
    struct stat st;
    const int err = vault_->StatIn(*slot, &st);
    if (err != 0 && err != ENOENT) {
      DropStaged(id);
      return vault_->PathError("cannot inspect", path, err);
    }
    const struct stat* now = err == 0 ? &st : nullptr;
    const bool unchanged = freed ? now == nullptr : MatchesScan(in_, path, now);
    if (!unchanged) {
      DropStaged(id);
      return false;
    }
    const std::string staged = StagingName(id);
    if (displace != nullptr && now != nullptr) {
      Result<std::string> kept =
          ReplaceKeeping(*vault_, *slot, path, S_ISDIR(now->st_mode),
                         StagedVersion{staging_.get(), staged, /*is_dir=*/false}, *displace);
      if (!kept.ok()) {
        DropStaged(id);
        return std::move(kept).error();
      }
      *where = std::make_unique<std::string>(std::move(*kept));
    } else if (const int moved =
                   now == nullptr
                       ? vault_->RenameNoReplace(staging_.get(), staged, slot->dir.get(),
                                                 slot->name)
                       : env_.RenameAt(staging_.get(), staged.c_str(), slot->dir.get(),
                                       slot->name.c_str(), 0);
               moved != 0) {
      DropStaged(id);
      if (moved == EEXIST) return false;  // something appeared there since the check
      return vault_->PathError("cannot move into place", path, moved);
    }
    if (vault_->StatIn(*slot, &st) == 0 && S_ISREG(st.st_mode)) *after = ToFileStat(st);
    dirs_to_sync_.insert(ParentOf(path));
    if (in_.checkpoint != nullptr) in_.checkpoint->Checkpoint("pull.apply_item");
    return true;
  }

  // Assembles the file in staging from its chunks (not yet durable: see
  // SyncStaged).
  Status StageFile(const std::string& path, const Entry& remote, std::uint64_t id) {
    const std::string name = StagingName(id);
    int raw = -1;
    if (const int err = env_.Open(staging_.get(), name.c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                  remote.executable ? 0777 : 0666, &raw);
        err != 0) {
      return OsError(SyncCode::kApplyFailed, "cannot create", StagingPath(id), err);
    }
    Fd fd(env_, raw);
    auto fail = [&](Error e) -> Error {
      fd.reset();
      DropStaged(id);
      return e.With("path", path);
    };
    std::uint64_t written = 0;
    for (const ChunkRef& chunk : remote.chunks) {
      std::optional<std::vector<std::uint8_t>> here;
      if (local_) here = local_->Read(*vault_, chunk);
      auto bytes = here ? Result<std::vector<std::uint8_t>>(std::move(*here))
                        : fetcher_.Fetch(ObjectKind::kChunk, chunk.id);
      if (!bytes.ok()) return fail(std::move(bytes).error());
      if (bytes->size() != chunk.size) {
        return fail(Error(SyncCode::kApplyFailed, Category::kHashMismatch,
                          "chunk " + ToHex(chunk.id) + " has the wrong size"));
      }
      const std::string_view view(reinterpret_cast<const char*>(bytes->data()), bytes->size());
      if (const int err = WriteAll(env_, fd.get(), view); err != 0) {
        return fail(OsError(SyncCode::kApplyFailed, "cannot write", StagingPath(id), err));
      }
      written += bytes->size();
    }
    if (written != remote.size) {
      return fail(Error(SyncCode::kApplyFailed, Category::kCorrupt,
                        "the file's chunks do not add up to its size"));
    }
    const struct timespec times[2] = {{0, UTIME_OMIT},
                                      {static_cast<time_t>(remote.mtime_ns / 1'000'000'000),
                                       static_cast<long>(remote.mtime_ns % 1'000'000'000)}};
    if (remote.mtime_ns >= 0) (void)env_.Futimens(fd.get(), times);
    // The writes start now, so the fdatasync on the syncer's worker finds
    // them under way (or done) instead of starting them (Linux; advisory:
    // a failure only means the fdatasync does it all).
    (void)StartWriteback(env_, fd.get());
    // Made durable (and closed) by the syncer while the next files are
    // staged; WaitStaged says which could not be.
    syncer_.Add(id, std::move(fd));
    return OkStatus();
  }

  Status StageSymlink(const Entry& remote, std::uint64_t id) {
    if (const int err =
            env_.SymlinkAt(remote.symlink_target.c_str(), staging_.get(), StagingName(id).c_str());
        err != 0) {
      return OsError(SyncCode::kApplyFailed, "cannot create symlink", StagingPath(id), err);
    }
    return OkStatus();
  }

  // Waits until every file staged so far is durable (an fdatasync each,
  // sync/apply_sync.h); returns the staging ids of those that could not be
  // made durable, with the error (each is dropped from staging).
  std::map<std::uint64_t, Error> WaitStaged() {
    std::map<std::uint64_t, Error> out;
    for (const auto& [id, err] : syncer_.Wait()) {
      out.emplace(id, OsError(SyncCode::kApplyFailed, "cannot sync", StagingPath(id), err));
      DropStaged(id);
    }
    return out;
  }

  // Removes what a killed earlier pull left in staging (this process holds
  // the vault's lock, so nothing else is using it).
  void ClearStaging() {
    std::vector<DirEntry> entries;
    if (env_.ReadDir(staging_.get(), &entries) != 0) return;
    for (const DirEntry& e : entries) {
      if (!e.name.starts_with("pull-")) continue;
      // A staged directory (MakeDirDisplacing) that was never swapped in.
      if (env_.UnlinkAt(staging_.get(), e.name.c_str(), 0) != 0) {
        (void)env_.UnlinkAt(staging_.get(), e.name.c_str(), AT_REMOVEDIR);
      }
    }
  }

  // One fsync of each directory renamed into (on the syncer's workers).
  void SyncDirs() {
    for (const std::string& dir : dirs_to_sync_) {
      Result<Fd> fd = vault_->OpenDir(dir, VaultArea::kContent, false);
      if (fd.ok()) syncer_.Add(0, std::move(*fd), /*full=*/true);
    }
    (void)syncer_.Wait();
  }

 private:
  const ApplyInput& in_;
  ObjectFetcher& fetcher_;
  Env& env_;
  std::optional<VaultDir> vault_;
  Fd staging_;
  // "pull-<pid>-": the pid asked once, not twice a file.
  const std::string staging_prefix_ = "pull-" + std::to_string(::getpid()) + "-";
  std::set<std::string> dirs_to_sync_;
  std::optional<LocalChunks> local_;
  StagedSyncer syncer_;
};

}  // namespace

Result<bool> StillAsScanned(const ApplyInput& input, const std::string& path) {
  HX_ASSIGN_OR_RETURN(VaultDir vault, VaultDir::Open(*input.env, input.vault));
  HX_ASSIGN_OR_RETURN(std::optional<struct stat> st, vault.Lstat(path, VaultArea::kContent));
  return MatchesScan(input, path, st ? &*st : nullptr);
}

Result<std::filesystem::path> StageRemoteVersion(const ApplyInput& input, const Entry& remote,
                                                 ObjectFetcher& fetcher) {
  Applier applier(input, fetcher);
  HX_RETURN_IF_ERROR(applier.Open());
  Status staged =
      Error(SyncCode::kInternal, Category::kInternal, "only files and symlinks can be staged");
  const std::uint64_t id = Applier::NextStagingId();
  if (remote.kind == EntryKind::kFile) {
    for (const ChunkRef& c : remote.chunks) HX_RETURN_IF_ERROR(fetcher.Expect(c.id));
    staged = applier.StageFile("(archive)", remote, id);
  } else if (remote.kind == EntryKind::kSymlink) {
    staged = applier.StageSymlink(remote, id);
  }
  HX_RETURN_IF_ERROR(staged);
  std::map<std::uint64_t, Error> not_synced = applier.WaitStaged();
  if (auto failed = not_synced.find(id); failed != not_synced.end()) return failed->second;
  return applier.StagingPath(id);
}

namespace {

void Record(AppliedItem& item, Status status) {
  if (!status.ok() && item.status != ApplyStatus::kFailed) {
    item.status = ApplyStatus::kFailed;
    item.error = std::make_unique<Error>(std::move(status).error());
  }
}

void RecordInstalled(AppliedItem& item, Result<bool> installed, ApplyStatus if_not) {
  if (!installed.ok()) {
    Record(item, Status(std::move(installed).error()));
  } else if (!*installed) {
    item.status = if_not;
  }
}

}  // namespace

std::string_view ToString(ApplyStatus status) {
  switch (status) {
    case ApplyStatus::kApplied:
      return "applied";
    case ApplyStatus::kSkippedLocalChange:
      return "skipped_local_change";
    case ApplyStatus::kSkippedNotEmpty:
      return "skipped_not_empty";
    case ApplyStatus::kFailed:
      return "failed";
  }
  return "failed";
}

namespace {

// Declares the chunks that ApplyPlan fetches (those no local file holds) to
// the fetcher in batches ahead of the staging instead of all at once: what
// the fetcher keeps per declared object (its location and use count, ~180
// bytes) is then bounded by the batch, not the plan (18 MB at 100,000
// files). Every item that takes a remote file is declared, in item order, as
// before; a chunk used more than once is declared once with all its uses,
// where it is first used, so the fetcher keeps it from its first use to its
// last as when everything was declared first. A batch is at least two read
// segments' worth of objects, so reads are coalesced as before.
class ExpectAhead {
 public:
  static constexpr std::uint64_t kBatchChunks = 8192;

  ExpectAhead(const std::vector<PlannedItem>& items, std::vector<AppliedItem>& out,
              const Applier& applier, ObjectFetcher& fetcher)
      : items_(items), out_(out), applier_(applier), fetcher_(fetcher) {
    std::vector<ObjectId> ids;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (!Fetches(i)) continue;
      for (const ChunkRef& c : items_[i].remote->chunks) {
        if (!applier_.HasLocal(c.id)) ids.push_back(c.id);
      }
    }
    std::sort(ids.begin(), ids.end());
    for (std::size_t at = 0; at < ids.size();) {
      std::size_t end = at + 1;
      while (end < ids.size() && ids[end] == ids[at]) ++end;
      if (end - at > 1) repeated_.emplace(ids[at], end - at);
      at = end;
    }
  }

  // Before item i is staged: item i and the next ones are declared, a batch
  // ahead (items before i are done with).
  void Through(std::size_t i) {
    for (; passed_to_ < i; ++passed_to_) passed_ += Chunks(passed_to_);
    if (declared_to_ > i && declared_ - passed_ >= kBatchChunks) return;
    while (declared_to_ < items_.size() &&
           (declared_to_ <= i || declared_ - passed_ < 2 * kBatchChunks)) {
      Declare(declared_to_);
      declared_ += Chunks(declared_to_);
      ++declared_to_;
    }
  }

 private:
  bool Fetches(std::size_t i) const {
    const PlannedItem& item = items_[i];
    return item.action == PullAction::kTakeRemote && item.remote->kind == EntryKind::kFile;
  }
  std::uint64_t Chunks(std::size_t i) const {
    return Fetches(i) ? items_[i].remote->chunks.size() : 0;
  }
  void Declare(std::size_t i) {
    if (!Fetches(i)) return;
    for (const ChunkRef& c : items_[i].remote->chunks) {
      if (applier_.HasLocal(c.id)) continue;
      std::uint64_t uses = 1;
      if (auto r = repeated_.find(c.id); r != repeated_.end()) {
        if (r->second == 0) continue;  // declared with all its uses
        uses = std::exchange(r->second, 0);
      }
      Record(out_[i], fetcher_.Expect(c.id, uses));
    }
  }

  const std::vector<PlannedItem>& items_;
  std::vector<AppliedItem>& out_;
  const Applier& applier_;
  ObjectFetcher& fetcher_;
  // Chunks used more than once, and how many times (0 once declared).
  std::map<ObjectId, std::uint64_t> repeated_;
  std::size_t declared_to_ = 0;  // items [0, declared_to_) are declared
  std::size_t passed_to_ = 0;    // items [0, passed_to_) are done with
  std::uint64_t declared_ = 0;   // Chunks() of the declared items
  std::uint64_t passed_ = 0;     // Chunks() of the items done with
};

}  // namespace

std::uint64_t PullReadAheadWindow(std::size_t items) {
  const std::uint64_t held = static_cast<std::uint64_t>(items) * kPullBytesPerItem;
  const std::uint64_t left = held < kPullReadAheadBudgetBytes ? kPullReadAheadBudgetBytes - held : 0;
  return std::clamp(left, kPullReadAheadMinWindowBytes, kPullReadAheadWindowBytes);
}

std::vector<AppliedItem> ApplyPlan(const ApplyInput& input, const std::vector<PlannedItem>& items,
                                   ObjectFetcher& fetcher) {
  fetcher.ReadAhead(kPullReadAheadRequests, PullReadAheadWindow(items.size()));
  // Ended on every way out: what was read ahead for items that were then
  // skipped is not held through the rest of the pull.
  struct EndReadAhead {
    ObjectFetcher& fetcher;
    ~EndReadAhead() { fetcher.EndReadAhead(); }
  } end_read_ahead{fetcher};
  Applier applier(input, fetcher);
  std::vector<AppliedItem> out(items.size());
  if (Status opened = applier.Open(); !opened.ok()) {
    // Nothing can be written: every item that would write fails with why.
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].action != PullAction::kJoin) Record(out[i], opened);
    }
    return out;
  }
  applier.ClearStaging();
  auto pending = [&](std::size_t i) { return out[i].status == ApplyStatus::kApplied; };
  auto join = [&](std::size_t i) { return items[i].action == PullAction::kJoin; };
  const auto local_kind = [&](std::size_t i) {
    auto seen = input.scan->entries.find(items[i].path);
    return seen == input.scan->entries.end() ? EntryKind::kTombstone : seen->second.kind;
  };
  const auto file_like = [](EntryKind kind) {
    return kind == EntryKind::kFile || kind == EntryKind::kSymlink;
  };
  // Where item i's local version (a file or symlink, or a directory that a
  // file or symlink replaces) goes when it is replaced: a merge policy's
  // name for it, else the history cache's name for a file or symlink (null:
  // it is simply replaced or removed). The cache's name is made when asked
  // for, not kept for every item (5 MB at 100,000): the pointer is valid
  // until the next call.
  std::optional<Displacement> versioned;
  const auto displacement = [&](std::size_t i) -> const Displacement* {
    const EntryKind was = local_kind(i);
    if (!file_like(was) && !(was == EntryKind::kDir && file_like(items[i].remote->kind))) {
      return nullptr;
    }
    if (input.displace != nullptr) {
      auto it = input.displace->find(items[i].path);
      if (it != input.displace->end()) return &it->second;
    }
    if (!input.keep_versions_at_ms || join(i) || !file_like(was)) return nullptr;
    versioned = Displacement{.to = VersionRel(items[i].path, *input.keep_versions_at_ms),
                             .free_variant = true,
                             .durable = false};
    return &*versioned;
  };

  // The chunks the writes need that local files held when scanned are read
  // from there (sync/local_chunks.h); every other chunk is declared to the
  // fetcher, so reads are coalesced.
  {
    LocalChunks::IdSet wanted;
    if (input.chunk_id) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (join(i) || items[i].action != PullAction::kTakeRemote ||
            items[i].remote->kind != EntryKind::kFile) {
          continue;
        }
        for (const ChunkRef& c : items[i].remote->chunks) wanted.insert(c.id);
      }
    }
    applier.FindLocalChunks(wanted);
  }
  Applier::ScanCheck scan_check(applier);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (join(i)) continue;
    if (items[i].action != PullAction::kTakeRemote) {
      Record(out[i],
             Error(SyncCode::kInternal, Category::kInternal, "a conflict reached the applier"));
      continue;
    }
    // Nothing may be touched if the path changed since the scan (or if it
    // can only be reached through a symlink: that fails the item).
    Result<bool> still = scan_check.StillAsScanned(items[i].path);
    if (!still.ok()) {
      Record(out[i], Status(std::move(still).error()));
    } else if (!*still && out[i].status == ApplyStatus::kApplied) {
      out[i].status = ApplyStatus::kSkippedLocalChange;
    }
  }

  // A directory that could not be made (or was not applied) fails
  // everything the plan puts beneath it (never created on the way by a
  // deeper item: the new base must not hold a child without its parent).
  std::set<std::string> failed_dirs;
  const auto failed_parent = [&](const std::string& path) -> std::optional<std::string> {
    for (std::size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
         slash = path.rfind('/', slash - 1)) {
      std::string parent = path.substr(0, slash);
      if (failed_dirs.count(parent) != 0) return parent;
    }
    return std::nullopt;
  };
  const auto fail_beneath = [&](std::size_t i, const std::string& parent) {
    Record(out[i], Error(SyncCode::kApplyFailed, Category::kAborted,
                         "not applied: its parent directory " + parent +
                             " could not be created; fix that and pull again")
                       .With("path", (input.vault / items[i].path).string()));
  };
  for (std::size_t i = 0; i < items.size(); ++i) {
    // Already refused (it changed since the scan, or could not be checked).
    if (!join(i) && items[i].remote->kind == EntryKind::kDir && !pending(i)) {
      failed_dirs.insert(items[i].path);
    }
  }

  // 0. File and symlink contents, staged before anything in the vault
  // changes (a local file a chunk is read from may be one this pull
  // removes or replaces), in path order; each staged file is made durable
  // on the syncer's workers while the next ones are fetched and written.
  // The chunks to fetch are declared to the fetcher a batch ahead of the
  // staging (ExpectAhead), not all at once.
  // staged[i]: the staging id of item i's file, if it was staged.
  ExpectAhead expect(items, out, applier, fetcher);
  std::vector<std::optional<std::uint64_t>> staged(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    expect.Through(i);
    if (!pending(i) || join(i)) continue;
    const Entry& remote = *items[i].remote;
    if (remote.kind != EntryKind::kFile && remote.kind != EntryKind::kSymlink) continue;
    if (auto parent = failed_parent(items[i].path)) {
      fail_beneath(i, *parent);
      continue;
    }
    const std::uint64_t id = Applier::NextStagingId();
    Status done = remote.kind == EntryKind::kFile ? applier.StageFile(items[i].path, remote, id)
                                                  : applier.StageSymlink(remote, id);
    if (!done.ok()) {
      Record(out[i], std::move(done));
      continue;
    }
    staged[i] = id;
  }
  // Every staged file is durable before any rename makes one visible.
  {
    std::map<std::uint64_t, Error> not_synced = applier.WaitStaged();
    for (std::size_t i = 0; i < items.size() && !not_synced.empty(); ++i) {
      if (!staged[i]) continue;
      auto failed = not_synced.find(*staged[i]);
      if (failed == not_synced.end()) continue;
      Record(out[i], Error(failed->second).With("path", items[i].path));
      staged[i].reset();
      not_synced.erase(failed);
    }
  }

  // 1. Files and symlinks that are removed or replaced by a directory.
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!pending(i) || join(i)) continue;
    const EntryKind was = local_kind(i);
    const EntryKind now = items[i].remote->kind;
    if (file_like(was) && (now == EntryKind::kTombstone || now == EntryKind::kDir)) {
      const Displacement* d = displacement(i);
      if (d == nullptr) {
        RecordInstalled(out[i], applier.RemoveFile(items[i].path),
                        ApplyStatus::kSkippedLocalChange);
      } else if (now == EntryKind::kTombstone) {
        RecordInstalled(out[i], applier.MoveAside(items[i].path, *d, &out[i].displaced_to),
                        ApplyStatus::kSkippedLocalChange);
      }  // else a directory takes its place in step 3
    }
  }
  // 2. Directories removed or replaced by a file, deepest first (a
  // displaced one is swapped out by its replacement in step 4).
  for (std::size_t j = items.size(); j-- > 0;) {
    if (!pending(j) || join(j)) continue;
    if (local_kind(j) == EntryKind::kDir && items[j].remote->kind != EntryKind::kDir &&
        displacement(j) == nullptr) {
      auto removed = applier.RemoveDir(items[j].path);
      RecordInstalled(out[j], std::move(removed), ApplyStatus::kSkippedNotEmpty);
    }
  }
  // 3. New directories, shallowest first (see failed_dirs above).
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!pending(i) || join(i)) continue;
    if (items[i].remote->kind == EntryKind::kDir && local_kind(i) != EntryKind::kDir) {
      if (auto parent = failed_parent(items[i].path)) {
        fail_beneath(i, *parent);
      } else if (const Displacement* d = displacement(i)) {
        RecordInstalled(out[i], applier.MakeDirDisplacing(items[i].path, *d, &out[i].displaced_to),
                        ApplyStatus::kSkippedLocalChange);
      } else {
        Record(out[i], applier.MakeDir(items[i].path));
      }
      if (!pending(i)) failed_dirs.insert(items[i].path);
    }
  }
  // 4. The staged files and symlinks, moved into place after re-checking
  // each path (one whose parent could not be made, or that an earlier step
  // refused, is dropped from staging).
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!staged[i]) continue;
    if (!pending(i)) {
      applier.DropStaged(*staged[i]);
      continue;
    }
    if (auto parent = failed_parent(items[i].path)) {
      applier.DropStaged(*staged[i]);
      fail_beneath(i, *parent);
      continue;
    }
    // Removed in step 2.
    const bool freed = local_kind(i) == EntryKind::kDir && displacement(i) == nullptr;
    std::optional<FileStat> after;
    Result<bool> installed = applier.Install(*staged[i], items[i].path, freed, displacement(i),
                                             &after, &out[i].displaced_to);
    if (installed.ok() && *installed && items[i].remote->kind == EntryKind::kFile) {
      out[i].stat = after;
    }
    RecordInstalled(out[i], std::move(installed), ApplyStatus::kSkippedLocalChange);
  }
  applier.SyncDirs();
  return out;
}

}  // namespace hx
