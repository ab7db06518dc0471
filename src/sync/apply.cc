#include "sync/apply.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/os_error.h"
#include "hash/blake3.h"

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

// Whether the local path is still what the scan saw: the same kind and,
// for files, the same size, mtime, ctime and inode; absent if the scan saw
// nothing there.
bool StillAsScannedIn(const ApplyInput& in, const std::string& path) {
  struct stat st;
  const fs::path full = in.vault / path;
  const bool exists = ::lstat(full.c_str(), &st) == 0;
  auto seen = in.scan->entries.find(path);
  if (seen == in.scan->entries.end()) return !exists;
  if (!exists) return false;
  switch (seen->second.kind) {
    case EntryKind::kDir:
      return S_ISDIR(st.st_mode);
    case EntryKind::kSymlink:
      return S_ISLNK(st.st_mode);
    case EntryKind::kFile: {
      if (!S_ISREG(st.st_mode)) return false;
      const FileStat now = ToFileStat(st);
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

class Applier {
 public:
  Applier(const ApplyInput& input, ObjectFetcher& fetcher) : in_(input), fetcher_(fetcher) {}

  bool StillAsScanned(const std::string& path) const { return StillAsScannedIn(in_, path); }

  Status RemoveFile(const std::string& path) {
    const fs::path full = in_.vault / path;
    if (::unlink(full.c_str()) != 0 && errno != ENOENT)
      return OsError(SyncCode::kApplyFailed, "cannot delete", full, errno);
    return OkStatus();
  }

  // OK, or nullopt-like "not empty" signalled through the bool.
  Result<bool> RemoveDir(const std::string& path) {
    const fs::path full = in_.vault / path;
    if (::rmdir(full.c_str()) == 0 || errno == ENOENT) return true;
    if (errno == ENOTEMPTY || errno == EEXIST) return false;
    return OsError(SyncCode::kApplyFailed, "cannot remove directory", full, errno);
  }

  Status MakeDir(const std::string& path) {
    const fs::path full = in_.vault / path;
    std::error_code ec;
    fs::create_directories(full, ec);
    if (ec) return OsError(SyncCode::kApplyFailed, "cannot create directory", full, ec.value());
    if (!fs::is_directory(full, ec)) {
      return OsError(SyncCode::kApplyFailed, "cannot create directory", full, EEXIST);
    }
    return OkStatus();
  }

  // Staged files are named by a number, so a pull that stages 100,000
  // files keeps numbers, not paths, until it installs them.
  static std::uint64_t NextStagingId() { return staging_counter.fetch_add(1); }
  fs::path StagingPath(std::uint64_t id) const {
    return in_.staging /
           ("pull-" + std::to_string(::getpid()) + "-" + std::to_string(id) + ".tmp");
  }

  // Moves the staged file into place if the target is still as scanned (or
  // still absent, when an earlier phase removed the directory it replaces).
  Result<bool> Install(const fs::path& staged, const std::string& path, bool freed) {
    const fs::path full = in_.vault / path;
    HX_RETURN_IF_ERROR(MakeDir(fs::path(path).parent_path().string()));
    struct stat st;
    const bool unchanged =
        freed ? ::lstat(full.c_str(), &st) != 0 && errno == ENOENT : StillAsScanned(path);
    if (!unchanged) {
      ::unlink(staged.c_str());
      return false;
    }
    if (::rename(staged.c_str(), full.c_str()) != 0) {
      const int err = errno;
      ::unlink(staged.c_str());
      return OsError(SyncCode::kApplyFailed, "cannot move into place", full, err);
    }
    dirs_to_sync_.insert(full.parent_path());
    if (in_.checkpoint != nullptr) in_.checkpoint->Checkpoint("pull.apply_item");
    return true;
  }

  // Assembles the file in staging from its chunks (not yet durable: see
  // SyncStaged).
  Result<fs::path> StageFile(const std::string& path, const Entry& remote, std::uint64_t id) {
    const fs::path staged = StagingPath(id);
    const int fd = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                          remote.executable ? 0777 : 0666);
    if (fd < 0) return OsError(SyncCode::kApplyFailed, "cannot create", staged, errno);
    auto fail = [&](Error e) -> Error {
      ::close(fd);
      ::unlink(staged.c_str());
      return e.With("path", path);
    };
    std::uint64_t written = 0;
    for (const ChunkRef& chunk : remote.chunks) {
      auto bytes = fetcher_.Fetch(ObjectKind::kChunk, chunk.id);
      if (!bytes.ok()) return fail(std::move(bytes).error());
      if (bytes->size() != chunk.size) {
        return fail(Error(SyncCode::kApplyFailed, Category::kHashMismatch,
                          "chunk " + ToHex(chunk.id) + " has the wrong size"));
      }
      std::size_t done = 0;
      while (done < bytes->size()) {
        const ssize_t n = ::write(fd, bytes->data() + done, bytes->size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          return fail(OsError(SyncCode::kApplyFailed, "cannot write", staged, errno));
        }
        done += static_cast<std::size_t>(n);
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
    if (remote.mtime_ns >= 0) (void)::futimens(fd, times);
    ::close(fd);
    return staged;
  }

  Result<fs::path> StageSymlink(const Entry& remote, std::uint64_t id) {
    const fs::path staged = StagingPath(id);
    if (::symlink(remote.symlink_target.c_str(), staged.c_str()) != 0) {
      return OsError(SyncCode::kApplyFailed, "cannot create symlink", staged, errno);
    }
    return staged;
  }

  // Makes every staged file durable before any rename makes one visible:
  // one syncfs of the file system for the whole pull instead of an fsync per
  // file (each costs a journal commit); if syncfs fails, an fsync each.
  Status SyncStaged(const std::vector<std::uint64_t>& staged) {
    const int dir = ::open(in_.staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      const int rc = ::syncfs(dir);
      ::close(dir);
      if (rc == 0) return OkStatus();
    }
    for (const std::uint64_t id : staged) {
      const fs::path path = StagingPath(id);
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) continue;  // a symlink: nothing to sync
      const int rc = ::fsync(fd);
      const int err = errno;
      ::close(fd);
      if (rc != 0) return OsError(SyncCode::kApplyFailed, "cannot sync", path, err);
    }
    return OkStatus();
  }

  // Removes what a killed earlier pull left in staging (this process holds
  // the vault's lock, so nothing else is using it).
  void ClearStaging() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(in_.staging, ec)) {
      if (e.path().filename().string().starts_with("pull-")) fs::remove(e.path(), ec);
    }
  }

  void SyncDirs() {
    for (const fs::path& dir : dirs_to_sync_) {
      const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0) {
        (void)::fsync(fd);
        ::close(fd);
      }
    }
  }

 private:
  const ApplyInput& in_;
  ObjectFetcher& fetcher_;
  std::set<fs::path> dirs_to_sync_;
};

}  // namespace

bool StillAsScanned(const ApplyInput& input, const std::string& path) {
  return StillAsScannedIn(input, path);
}

Result<std::filesystem::path> StageRemoteVersion(const ApplyInput& input, const Entry& remote,
                                                 ObjectFetcher& fetcher) {
  Applier applier(input, fetcher);
  Result<fs::path> staged = Result<fs::path>(
      Error(SyncCode::kInternal, Category::kInternal, "only files and symlinks can be staged"));
  const std::uint64_t id = Applier::NextStagingId();
  if (remote.kind == EntryKind::kFile) {
    for (const ChunkRef& c : remote.chunks) HX_RETURN_IF_ERROR(fetcher.Expect(c.id));
    staged = applier.StageFile("(archive)", remote, id);
  } else if (remote.kind == EntryKind::kSymlink) {
    staged = applier.StageSymlink(remote, id);
  }
  if (!staged.ok()) return staged;
  if (Status synced = applier.SyncStaged({id}); !synced.ok()) {
    std::error_code ec;
    fs::remove(*staged, ec);
    return synced.error();
  }
  return staged;
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

std::vector<AppliedItem> ApplyPlan(const ApplyInput& input, const std::vector<PlannedItem>& items,
                                   ObjectFetcher& fetcher) {
  Applier applier(input, fetcher);
  applier.ClearStaging();
  std::vector<AppliedItem> out(items.size());
  auto pending = [&](std::size_t i) { return out[i].status == ApplyStatus::kApplied; };
  auto join = [&](std::size_t i) { return items[i].action == PullAction::kJoin; };
  const auto local_kind = [&](std::size_t i) {
    auto seen = input.scan->entries.find(items[i].path);
    return seen == input.scan->entries.end() ? EntryKind::kTombstone : seen->second.kind;
  };

  // Declare every chunk the writes will need, so reads are coalesced.
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Entry& remote = items[i].remote;
    if (join(i)) continue;
    if (items[i].action != PullAction::kTakeRemote) {
      Record(out[i],
             Error(SyncCode::kInternal, Category::kInternal, "a conflict reached the applier"));
      continue;
    }
    if (remote.kind == EntryKind::kFile) {
      for (const ChunkRef& c : remote.chunks) Record(out[i], fetcher.Expect(c.id));
    }
    // Nothing may be touched if the path changed since the scan.
    if (!applier.StillAsScanned(items[i].path)) out[i].status = ApplyStatus::kSkippedLocalChange;
  }

  // 1. Files and symlinks that are removed or replaced by a directory.
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!pending(i) || join(i)) continue;
    const EntryKind was = local_kind(i);
    const EntryKind now = items[i].remote.kind;
    if ((was == EntryKind::kFile || was == EntryKind::kSymlink) &&
        (now == EntryKind::kTombstone || now == EntryKind::kDir)) {
      Record(out[i], applier.RemoveFile(items[i].path));
    }
  }
  // 2. Directories removed or replaced by a file, deepest first.
  for (std::size_t j = items.size(); j-- > 0;) {
    if (!pending(j) || join(j)) continue;
    if (local_kind(j) == EntryKind::kDir && items[j].remote.kind != EntryKind::kDir) {
      auto removed = applier.RemoveDir(items[j].path);
      RecordInstalled(out[j], std::move(removed), ApplyStatus::kSkippedNotEmpty);
    }
  }
  // 3. New directories, shallowest first.
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!pending(i) || join(i)) continue;
    if (items[i].remote.kind == EntryKind::kDir && local_kind(i) != EntryKind::kDir) {
      Record(out[i], applier.MakeDir(items[i].path));
    }
  }
  // 4. File and symlink contents: stage them all, make them durable, then
  // move each into place after re-checking its path.
  // staged[i]: the staging id of item i's file, if it was staged.
  std::vector<std::optional<std::uint64_t>> staged(items.size());
  std::vector<std::uint64_t> to_sync;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!pending(i) || join(i)) continue;
    const Entry& remote = items[i].remote;
    if (remote.kind != EntryKind::kFile && remote.kind != EntryKind::kSymlink) continue;
    const std::uint64_t id = Applier::NextStagingId();
    Result<std::filesystem::path> path = remote.kind == EntryKind::kFile
                                             ? applier.StageFile(items[i].path, remote, id)
                                             : applier.StageSymlink(remote, id);
    if (!path.ok()) {
      Record(out[i], Status(std::move(path).error()));
      continue;
    }
    staged[i] = id;
    to_sync.push_back(id);
  }
  if (Status synced = applier.SyncStaged(to_sync); !synced.ok()) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (staged[i]) {
        Record(out[i], synced);
        std::error_code ec;
        std::filesystem::remove(applier.StagingPath(*staged[i]), ec);
        staged[i].reset();
      }
    }
  }
  to_sync = {};
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!staged[i]) continue;
    const bool freed = local_kind(i) == EntryKind::kDir;  // removed in step 2
    Result<bool> installed =
        applier.Install(applier.StagingPath(*staged[i]), items[i].path, freed);
    if (installed.ok() && *installed && items[i].remote.kind == EntryKind::kFile) {
      struct stat st;
      if (::lstat((input.vault / items[i].path).c_str(), &st) == 0) out[i].stat = ToFileStat(st);
    }
    RecordInstalled(out[i], std::move(installed), ApplyStatus::kSkippedLocalChange);
  }
  applier.SyncDirs();
  return out;
}

}  // namespace hx
