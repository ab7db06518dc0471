// The vault boundary: every write hx makes into a vault folder goes through
// a VaultDir, so no symlink and no directory swapped for one while hx runs
// can redirect it outside the vault.
//
// A VaultDir holds a descriptor of the vault root, opened once. A path
// inside the vault is reached from that descriptor only: its parent
// directory is opened beneath the root without following any symlink
// (Env::OpenBeneath: openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or an
// O_NOFOLLOW walk), missing directories are created one component at a
// time (mkdirat, then an O_NOFOLLOW | O_DIRECTORY open relative to the
// parent's descriptor), and the leaf is then checked, created, renamed or
// removed relative to the parent's descriptor with its bare name
// (fstatat/renameat2/unlinkat/symlinkat). What was checked is the
// directory that is written: a component swapped for a symlink after the
// open changes nothing (the descriptor still names the real directory),
// one swapped before it is refused.
//
// Two areas: vault content (paths from the vault's trees, from an envelope,
// from the user) must not lead into `.hx/` (the device's local state),
// whatever another device sent; hx's own state paths (staging, the archive)
// must lead into it. Every path is checked: relative, '/'-separated, no
// empty, "." or ".." component, no NUL.
//
// Errors are KC_SYNC_APPLY_FAILED naming the vault path (details "path":
// the full path): Category::kConflict when a component on the way is a
// symlink or not a directory (hx never writes through one; the user moves
// it away), kInvalidInput for a path that is not allowed, the errno's
// category (os_error.h) otherwise.
//
// Thread-safety: a VaultDir may be used from several threads (it only
// reads its own fields); callers hold the vault's process lock.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <sys/stat.h>

#include "base/error.h"
#include "os/env.h"

namespace hx {

// The device's local state directory at the vault root (LocalState's
// kLocalDirName).
inline constexpr std::string_view kVaultStateDirName = ".hx";

enum class VaultArea {
  kContent,  // synced content: the first component is never `.hx`
  kState,    // hx's local state: the first component is `.hx`
};

// Where a path lands: its parent directory, open, and the leaf's name in it.
struct VaultSlot {
  Fd dir;
  std::string name;
};

class VaultDir {
 public:
  // Opens `root` (a directory; O_DIRECTORY | O_NOFOLLOW, so a symlink there
  // is refused unless it is the path the user named: see Open's note in
  // vault_dir.cc). Errors: KC_SYNC_APPLY_FAILED naming the root.
  static Result<VaultDir> Open(Env& env, const std::filesystem::path& root);

  VaultDir(VaultDir&&) = default;
  VaultDir& operator=(VaultDir&&) = default;

  Env& env() const { return *env_; }
  const std::filesystem::path& root() const { return root_; }
  int fd() const { return root_fd_.get(); }

  // OK if `rel` is a path of `area` (see above); else KC_SYNC_APPLY_FAILED,
  // Category::kInvalidInput, naming it.
  static Status CheckPath(std::string_view rel, VaultArea area);

  // Opens the directory `rel` ("" is the root) beneath the root, never
  // through a symlink; with `create`, missing directories are made one
  // component at a time (mode 0777 less the umask). Errors: kConflict when
  // a component is a symlink or not a directory, kNotFound when one is
  // missing (without `create`).
  Result<Fd> OpenDir(std::string_view rel, VaultArea area, bool create) const;

  // The parent directory of `rel` (opened as OpenDir does) and `rel`'s last
  // component.
  Result<VaultSlot> OpenParent(std::string_view rel, VaultArea area, bool create) const;

  // The parent of `rel` if it is there: nullopt when a component is missing
  // or is not a directory (a file: nothing can be at `rel`); a symlink on the
  // way is kConflict, as for OpenDir; a component that cannot be looked at
  // is the errno's error (never "nothing there").
  Result<std::optional<VaultSlot>> FindParent(std::string_view rel, VaultArea area) const;

  // What is at `rel`, never through a symlink (a symlink at the leaf is
  // reported as one): nullopt when nothing is there (the leaf or a parent
  // is missing, or a parent is a file). A parent that is a symlink:
  // kConflict.
  Result<std::optional<struct stat>> Lstat(std::string_view rel, VaultArea area) const;

  // fstatat(slot, AT_SYMLINK_NOFOLLOW): 0, or the errno.
  int StatIn(const VaultSlot& slot, struct stat* st) const;

  // Renames `from_name` in the directory `from_dir` to `to_name` in `to_dir`
  // unless something is there (EEXIST then): renameat2 RENAME_NOREPLACE, or
  // linkat + unlinkat where the file system lacks it (a directory cannot be
  // linked: EINVAL stays). 0 or the errno.
  int RenameNoReplace(int from_dir, const std::string& from_name, int to_dir,
                      const std::string& to_name) const;
  int RenameNoReplace(const VaultSlot& from, const VaultSlot& to) const {
    return RenameNoReplace(from.dir.get(), from.name, to.dir.get(), to.name);
  }

  // The full path of `rel`, for messages.
  std::filesystem::path Full(std::string_view rel) const;

  // The error for an errno of a call on `rel` ("<what> <full path>: ..."):
  // ELOOP, ENOTDIR and EXDEV say a component is a symlink or not a
  // directory (kConflict).
  Error PathError(std::string_view what, std::string_view rel, int err) const;

 private:
  // Whether a component of the directory `rel` is a symlink (walking from
  // the root without following one). A component that cannot be looked at
  // (EIO, EACCES, ...) is that error, naming it.
  Result<bool> SymlinkOnTheWay(std::string_view rel) const;

  VaultDir(Env& env, std::filesystem::path root, Fd fd)
      : env_(&env), root_(std::move(root)), root_fd_(std::move(fd)) {}

  Env* env_;
  std::filesystem::path root_;
  Fd root_fd_;
};

}  // namespace hx
