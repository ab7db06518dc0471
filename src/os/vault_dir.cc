#include "os/vault_dir.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/os_error.h"

namespace hx {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

bool IsNotARealDir(int err) { return err == ELOOP || err == ENOTDIR || err == EXDEV; }

// The parent part of `rel` ("" for a top-level name) and its last component.
std::pair<std::string_view, std::string_view> SplitLast(std::string_view rel) {
  const std::size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

}  // namespace

Result<VaultDir> VaultDir::Open(Env& env, const std::filesystem::path& root) {
  int fd = -1;
  int err = env.Open(AT_FDCWD, root.c_str(), kDirFlags, 0, &fd);
  if (err == ELOOP || err == ENOTDIR) {
    // The root itself is the path the user named (`--vault ~/Vault`, where
    // ~/Vault may be a symlink the user made to /data/vault): it is resolved
    // once, here, and everything beneath it is reached from this descriptor
    // without following anything.
    err = env.Open(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY, 0, &fd);
  }
  if (err != 0) return OsError(SyncCode::kApplyFailed, "cannot open the vault folder", root, err);
  return VaultDir(env, root, Fd(env, fd));
}

Status VaultDir::CheckPath(std::string_view rel, VaultArea area) {
  auto refuse = [&](std::string_view why) -> Status {
    std::string shown(rel.substr(0, 200));
    for (char& c : shown) {
      if (c == '\0') c = '?';
    }
    return Error(SyncCode::kApplyFailed, Category::kInvalidInput,
                 "refusing to write \"" + shown + "\": " + std::string(why))
        .With("path", shown);
  };
  if (rel.empty()) return refuse("an empty path");
  if (rel.front() == '/') return refuse("an absolute path, not one inside the vault");
  std::size_t start = 0;
  bool first = true;
  for (;;) {
    const std::size_t slash = rel.find('/', start);
    const std::string_view part =
        rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return refuse("an empty, \".\" or \"..\" component");
    }
    if (part.find('\0') != std::string_view::npos) return refuse("a NUL byte in a name");
    if (first) {
      const bool state = part == kVaultStateDirName;
      if (area == VaultArea::kContent && state) {
        return refuse(".hx/ is this device's local state; no synced path may lead into it");
      }
      if (area == VaultArea::kState && !state) return refuse("not a path inside .hx/");
    }
    first = false;
    if (slash == std::string_view::npos) return OkStatus();
    start = slash + 1;
  }
}

std::filesystem::path VaultDir::Full(std::string_view rel) const {
  return rel.empty() ? root_ : root_ / std::string(rel);
}

Error VaultDir::PathError(std::string_view what, std::string_view rel, int err) const {
  if (IsNotARealDir(err)) {
    const std::string full = Full(rel).string();
    return Error(SyncCode::kApplyFailed, Category::kConflict,
                 std::string(what) + " " + full +
                     ": a directory on the way is a symlink or not a directory; hx never writes "
                     "through a symlink. Move it away (or make it a real directory) and sync "
                     "again")
        .With("path", full);
  }
  return OsError(SyncCode::kApplyFailed, what, Full(rel), err);
}

Result<Fd> VaultDir::OpenDir(std::string_view rel, VaultArea area, bool create) const {
  if (rel.empty()) {
    int fd = -1;
    if (const int err = env_->Open(root_fd_.get(), ".", kDirFlags, 0, &fd); err != 0) {
      return PathError("cannot open", rel, err);
    }
    return Fd(*env_, fd);
  }
  HX_RETURN_IF_ERROR(CheckPath(rel, area));
  const std::string path(rel);
  int fd = -1;
  int err = env_->OpenBeneath(root_fd_.get(), path.c_str(), kDirFlags, 0, &fd);
  if (err == 0) return Fd(*env_, fd);
  if (err != ENOENT || !create) {
    if (err == ENOENT) {
      return Error(SyncCode::kApplyFailed, Category::kNotFound,
                   "the directory " + Full(rel).string() + " does not exist")
          .With("path", Full(rel).string());
    }
    return PathError("cannot open", rel, err);
  }
  // Some component is missing: walk from the root, one component at a
  // time, creating what is missing and never following a symlink.
  Fd current;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = rel.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? rel.size() : slash;
    const std::string name(rel.substr(start, end - start));
    const std::string_view so_far = rel.substr(0, end);
    const int at = current.valid() ? current.get() : root_fd_.get();
    int next = -1;
    err = env_->Open(at, name.c_str(), kDirFlags, 0, &next);
    if (err == ENOENT) {
      err = env_->MkdirAt(at, name.c_str(), 0777);
      if (err != 0 && err != EEXIST) return PathError("cannot create directory", so_far, err);
      err = env_->Open(at, name.c_str(), kDirFlags, 0, &next);
    }
    if (err != 0) return PathError("cannot open", so_far, err);
    current = Fd(*env_, next);
    if (slash == std::string_view::npos) return current;
    start = slash + 1;
  }
}

Result<VaultSlot> VaultDir::OpenParent(std::string_view rel, VaultArea area, bool create) const {
  HX_RETURN_IF_ERROR(CheckPath(rel, area));
  const auto [parent, leaf] = SplitLast(rel);
  VaultSlot slot;
  Result<Fd> dir = OpenDir(parent, area, create);
  if (!dir.ok()) {
    Error e = std::move(dir).error();
    if (e.category == Category::kConflict) {
      // Name the path that was to be written, and the directory at fault.
      auto at = e.details.find("path");
      if (at != e.details.end()) e.With("dir", at->second);
      e.message = "refusing to write " + Full(rel).string() + ": " + e.message;
      e.With("path", Full(rel).string());
    }
    return e;
  }
  slot.dir = std::move(*dir);
  slot.name = std::string(leaf);
  return slot;
}

Result<bool> VaultDir::SymlinkOnTheWay(std::string_view rel) const {
  Fd current;
  std::size_t start = 0;
  while (start <= rel.size() && !rel.empty()) {
    const std::size_t slash = rel.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? rel.size() : slash;
    const std::string name(rel.substr(start, end - start));
    const int at = current.valid() ? current.get() : root_fd_.get();
    struct stat st;
    if (const int err = env_->StatAt(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW); err != 0) {
      if (err == ENOENT || err == ENOTDIR) return false;
      return PathError("cannot inspect", rel.substr(0, end), err);
    }
    if (S_ISLNK(st.st_mode)) return true;
    if (!S_ISDIR(st.st_mode)) return false;
    int next = -1;
    if (const int err = env_->Open(at, name.c_str(), kDirFlags, 0, &next); err != 0) {
      if (err == ELOOP || err == ENOTDIR) return true;  // swapped for a symlink since the stat
      if (err == ENOENT) return false;
      return PathError("cannot open", rel.substr(0, end), err);
    }
    current = Fd(*env_, next);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return false;
}

Result<std::optional<VaultSlot>> VaultDir::FindParent(std::string_view rel, VaultArea area) const {
  Result<VaultSlot> slot = OpenParent(rel, area, /*create=*/false);
  if (slot.ok()) return std::optional<VaultSlot>(std::move(*slot));
  if (slot.error().category == Category::kNotFound) return std::optional<VaultSlot>();
  if (slot.error().category == Category::kConflict) {
    // A file on the way: nothing is at rel. A check that cannot look is
    // reported as itself, never as "nothing there".
    HX_ASSIGN_OR_RETURN(const bool symlink, SymlinkOnTheWay(SplitLast(rel).first));
    if (!symlink) return std::optional<VaultSlot>();
  }
  return std::move(slot).error();
}

Result<std::optional<struct stat>> VaultDir::Lstat(std::string_view rel, VaultArea area) const {
  HX_ASSIGN_OR_RETURN(std::optional<VaultSlot> slot, FindParent(rel, area));
  if (!slot) return std::optional<struct stat>();
  struct stat st;
  const int err = StatIn(*slot, &st);
  if (err == ENOENT || err == ENOTDIR) return std::optional<struct stat>();
  if (err != 0) return PathError("cannot inspect", rel, err);
  return std::optional<struct stat>(st);
}

int VaultDir::StatIn(const VaultSlot& slot, struct stat* st) const {
  return env_->StatAt(slot.dir.get(), slot.name.c_str(), st, AT_SYMLINK_NOFOLLOW);
}

int VaultDir::RenameNoReplace(int from_dir, const std::string& from_name, int to_dir,
                              const std::string& to_name) const {
  const int err =
      env_->RenameAt(from_dir, from_name.c_str(), to_dir, to_name.c_str(), RENAME_NOREPLACE);
  if (err != EINVAL && err != ENOSYS) return err;
  // No RENAME_NOREPLACE here: link refuses an existing name too.
  if (const int linked = env_->LinkAt(from_dir, from_name.c_str(), to_dir, to_name.c_str());
      linked != 0) {
    return linked == EPERM ? err : linked;  // a directory cannot be linked
  }
  return env_->UnlinkAt(from_dir, from_name.c_str(), 0);
}

}  // namespace hx
