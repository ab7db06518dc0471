#include "sync/archive.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/os_error.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

// The largest N tried for "<name>.~N~" before giving up: a bound on the
// work, not a limit anyone reaches by syncing.
constexpr int kMaxArchiveVariants = 10000;
constexpr std::string_view kArchiveHint = "free space or fix permissions and sync again";

bool IsSafeRelPath(std::string_view rel) {
  if (rel.empty() || rel.front() == '/' || rel.back() == '/') return false;
  std::size_t start = 0;
  bool first = true;
  while (start <= rel.size()) {
    const std::size_t slash = rel.find('/', start);
    const std::string_view part =
        rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (first && part == kLocalDirName) return false;
    if (part.find('\0') != std::string_view::npos) return false;
    first = false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

// Renames `from` to `to` unless `to` exists (EEXIST then). Prefers
// renameat2(RENAME_NOREPLACE); file systems without it get link + unlink,
// which also never replaces.
int RenameNoReplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  if (::unlink(from.c_str()) != 0) return errno;
  return 0;
}

void SyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

Result<fs::path> MoveIntoArchive(const LocalState& local, const fs::path& source,
                                 std::string_view rel_path, std::string_view reason_id) {
  if (!IsSafeRelPath(rel_path)) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot archive \"" + std::string(rel_path) +
                                                     "\": not a relative path inside the vault");
  }
  if (!IsValidReasonId(reason_id)) {
    return InvalidInput(SyncCode::kInputInvalid, "archive reason id \"" + std::string(reason_id) +
                                                     "\" must be 1..128 of [a-z0-9_-]");
  }
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Error(SyncCode::kApplyFailed, Category::kNotFound,
                   "nothing to archive at " + source.string() + "; it was moved or deleted")
          .With("path", source.string());
    }
    return OsError(SyncCode::kApplyFailed, "cannot read", source, err, kArchiveHint);
  }
  if (S_ISDIR(st.st_mode)) {
    return Error(SyncCode::kApplyFailed, Category::kInvalidInput,
                 source.string() + " is a directory; only files and symlinks are archived")
        .With("path", source.string());
  }
  const fs::path dest = ArchiveDir(local) / std::string(reason_id) / std::string(rel_path);
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec)
    return OsError(SyncCode::kApplyFailed, "cannot create", dest.parent_path(), ec.value(),
                   kArchiveHint);
  for (int n = 1; n <= kMaxArchiveVariants; ++n) {
    const fs::path candidate =
        n == 1 ? dest : fs::path(dest.string() + ".~" + std::to_string(n) + "~");
    const int err = RenameNoReplace(source, candidate);
    if (err == EEXIST) continue;
    if (err != 0)
      return OsError(SyncCode::kApplyFailed, "cannot archive into", candidate, err, kArchiveHint);
    SyncDir(candidate.parent_path());
    SyncDir(source.parent_path());
    return candidate;
  }
  return Error(SyncCode::kApplyFailed, Category::kIo,
               "the archive already holds " + std::to_string(kMaxArchiveVariants) +
                   " versions of " + dest.string() + "; clear .hx/archive/ and sync again")
      .With("path", dest.string());
}

}  // namespace

Status MoveNoReplace(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec)
    return OsError(SyncCode::kApplyFailed, "cannot create", to.parent_path(), ec.value(),
                   kArchiveHint);
  if (const int err = RenameNoReplace(from, to); err != 0) {
    return OsError(SyncCode::kApplyFailed, "cannot move " + from.string() + " to", to, err,
                   kArchiveHint);
  }
  SyncDir(to.parent_path());
  SyncDir(from.parent_path());
  return OkStatus();
}

fs::path ArchiveDir(const LocalState& local) { return local.dir() / "archive"; }

bool IsValidReasonId(std::string_view reason_id) {
  if (reason_id.empty() || reason_id.size() > 128) return false;
  for (const char c : reason_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<fs::path> ArchiveVersion(const LocalState& local, std::string_view rel_path,
                                std::string_view reason_id) {
  if (!IsSafeRelPath(rel_path)) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot archive \"" + std::string(rel_path) +
                                                     "\": not a relative path inside the vault");
  }
  return MoveIntoArchive(local, local.vault() / std::string(rel_path), rel_path, reason_id);
}

Result<fs::path> ArchiveFileAs(const LocalState& local, const fs::path& source,
                               std::string_view rel_path, std::string_view reason_id) {
  return MoveIntoArchive(local, source, rel_path, reason_id);
}

}  // namespace hx
