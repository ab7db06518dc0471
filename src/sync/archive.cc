#include "sync/archive.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/os_error.h"
#include "os/vault_dir.h"

namespace hx {
namespace {

namespace fs = std::filesystem;

static_assert(kLocalDirName == kVaultStateDirName);

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

// The state-area path of the archive: ".hx/archive".
std::string ArchiveRel() { return std::string(kVaultStateDirName) + "/archive"; }

Result<fs::path> MoveIntoArchive(const LocalState& local, const VaultDir& vault,
                                 std::string_view source_rel, VaultArea source_area,
                                 std::string_view rel_path, std::string_view reason_id) {
  if (!IsSafeRelPath(rel_path)) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot archive \"" + std::string(rel_path) +
                                                     "\": not a relative path inside the vault");
  }
  if (!IsValidReasonId(reason_id)) {
    return InvalidInput(SyncCode::kInputInvalid, "archive reason id \"" + std::string(reason_id) +
                                                     "\" must be 1..128 of [a-z0-9_-]");
  }
  const fs::path source = vault.Full(source_rel);
  auto nothing_there = [&] {
    return Error(SyncCode::kApplyFailed, Category::kNotFound,
                 "nothing to archive at " + source.string() + "; it was moved or deleted")
        .With("path", source.string());
  };
  HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> from, vault.FindParent(source_rel, source_area));
  if (!from) return nothing_there();
  struct stat st;
  if (const int err = vault.StatIn(*from, &st); err != 0) {
    if (err == ENOENT) return nothing_there();
    return OsError(SyncCode::kApplyFailed, "cannot read", source, err, kArchiveHint);
  }
  if (S_ISDIR(st.st_mode)) {
    return Error(SyncCode::kApplyFailed, Category::kInvalidInput,
                 source.string() + " is a directory; only files and symlinks are archived")
        .With("path", source.string());
  }
  const std::string dest_rel = ArchiveStateRel(reason_id, rel_path);
  HX_ASSIGN_OR_RETURN(VaultSlot to, vault.OpenParent(dest_rel, VaultArea::kState, true));
  const std::string leaf = to.name;
  const fs::path dest = ArchiveDir(local) / std::string(reason_id) / std::string(rel_path);
  for (int n = 1; n <= kMaxArchiveVariants; ++n) {
    to.name = n == 1 ? leaf : leaf + ".~" + std::to_string(n) + "~";
    const fs::path candidate = dest.parent_path() / to.name;
    const int err = vault.RenameNoReplace(*from, to);
    if (err == EEXIST) continue;
    if (err != 0)
      return OsError(SyncCode::kApplyFailed, "cannot archive into", candidate, err, kArchiveHint);
    (void)vault.env().Fsync(to.dir.get());
    (void)vault.env().Fsync(from->dir.get());
    return candidate;
  }
  return Error(SyncCode::kApplyFailed, Category::kIo,
               "the archive already holds " + std::to_string(kMaxArchiveVariants) +
                   " versions of " + dest.string() + "; clear .hx/archive/ and sync again")
      .With("path", dest.string());
}

}  // namespace

Status MoveNoReplace(const VaultDir& vault, std::string_view from_rel, VaultArea from_area,
                     std::string_view to_rel, VaultArea to_area) {
  HX_ASSIGN_OR_RETURN(VaultSlot from, vault.OpenParent(from_rel, from_area, /*create=*/false));
  HX_ASSIGN_OR_RETURN(VaultSlot to, vault.OpenParent(to_rel, to_area, /*create=*/true));
  if (const int err = vault.RenameNoReplace(from, to); err != 0) {
    if (err == ELOOP || err == ENOTDIR || err == EXDEV) {
      return vault.PathError("cannot move " + vault.Full(from_rel).string() + " to", to_rel, err);
    }
    return OsError(SyncCode::kApplyFailed, "cannot move " + vault.Full(from_rel).string() + " to",
                   vault.Full(to_rel), err, kArchiveHint);
  }
  (void)vault.env().Fsync(to.dir.get());
  (void)vault.env().Fsync(from.dir.get());
  return OkStatus();
}

Status MoveNoReplace(const LocalState& local, std::string_view from_rel, std::string_view to_rel,
                     Env& env) {
  HX_ASSIGN_OR_RETURN(VaultDir vault, VaultDir::Open(env, local.vault()));
  return MoveNoReplace(vault, from_rel, VaultArea::kContent, to_rel, VaultArea::kContent);
}

fs::path ArchiveDir(const LocalState& local) { return local.dir() / "archive"; }

Result<std::string> FreeArchiveReason(const VaultDir& vault, std::string_view base) {
  for (int n = 1; n <= kMaxArchiveVariants; ++n) {
    std::string reason(base);
    if (n > 1) reason += "-" + std::to_string(n);
    Result<std::optional<struct stat>> there =
        vault.Lstat(ArchiveRel() + "/" + reason, VaultArea::kState);
    // A symlinked archive: every write into it fails, naming it.
    if (!there.ok() && there.error().category == Category::kConflict) return reason;
    if (!there.ok()) return std::move(there).error();
    if (!*there) return reason;
  }
  return Error(SyncCode::kApplyFailed, Category::kIo,
               "the archive already holds " + std::to_string(kMaxArchiveVariants) + " folders " +
                   std::string(base) + "-N; clear .hx/archive/ and sync again")
      .With("path", vault.Full(ArchiveRel()).string());
}

std::string ArchiveStateRel(std::string_view reason_id, std::string_view rel_path) {
  return ArchiveRel() + "/" + std::string(reason_id) + "/" + std::string(rel_path);
}

bool IsValidReasonId(std::string_view reason_id) {
  if (reason_id.empty() || reason_id.size() > 128) return false;
  for (const char c : reason_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<fs::path> ArchiveVersion(const LocalState& local, std::string_view rel_path,
                                std::string_view reason_id, Env& env) {
  if (!IsSafeRelPath(rel_path)) {
    return InvalidInput(SyncCode::kInputInvalid, "cannot archive \"" + std::string(rel_path) +
                                                     "\": not a relative path inside the vault");
  }
  HX_ASSIGN_OR_RETURN(VaultDir vault, VaultDir::Open(env, local.vault()));
  return MoveIntoArchive(local, vault, rel_path, VaultArea::kContent, rel_path, reason_id);
}

Result<fs::path> ArchiveFileAs(const LocalState& local, const fs::path& source,
                               std::string_view rel_path, std::string_view reason_id, Env& env) {
  HX_ASSIGN_OR_RETURN(VaultDir vault, VaultDir::Open(env, local.vault()));
  const std::string source_rel = source.lexically_relative(local.vault()).generic_string();
  return MoveIntoArchive(local, vault, source_rel, VaultArea::kState, rel_path, reason_id);
}

}  // namespace hx
