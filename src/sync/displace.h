// Replacing a version at a vault path while keeping the one it replaces: the
// step every writer that lets one version win over another takes (pull's
// and link's applier, sync/apply.h; hx envelope apply, envelope/folder.h),
// so that at every instant the path holds the old or the new version and
// the old one is kept at its new name too — a failure or a crash at any
// point never leaves the path empty with the loser gone, nor the loser
// anywhere but at the path or at a name in the vault (or its archive).
//
// The new version is staged first (in .hx/staging/, made durable by the
// caller), the path re-checked by the caller, then:
//   - a file or symlink replaced by a file or symlink: the old version is
//     given its new name by a hard link (linkat: never over anything), then
//     the staged version renamed over the path. A failed rename removes the
//     link again; a crash between the two leaves the old version at both
//     names (a rerun reuses the link: same inode).
//   - a file or symlink replaced by a directory: the same link, then the
//     staged (empty) directory swapped in (renameat2 RENAME_EXCHANGE) and
//     the old version's name in staging unlinked.
//   - a directory replaced by a file or symlink (a directory cannot be
//     linked): the staged version is moved next to the new name, as
//     "<name>.~pending-<pid>-<n>~", swapped with the directory in one step
//     (RENAME_EXCHANGE: the path holds the new version, the pending name
//     the directory), then the directory renamed to its new name. A failed
//     rename swaps them back; a crash between the two leaves the directory
//     at the pending name, beside where it was to go (never in staging).
//   - replaced by nothing (a remote deletion): a rename that refuses to
//     replace (one atomic step).
// Where the file system has no hard links (EPERM, EMLINK, ENOTSUP, EXDEV)
// or no RENAME_EXCHANGE (EINVAL, ENOSYS), the old version is renamed to its
// new name first and the new one renamed into the freed path (the old one
// is put back if that fails; only a crash between the two renames leaves
// the path empty, with the old version at its new name).
//
// Every call goes through the VaultDir (os/vault_dir.h) and its Env: both
// names are reached from the vault root's descriptor without following a
// symlink.
//
// Thread-safety: functions of the vault folder; callers hold the vault's
// process lock (LocalState).
#pragma once

#include <string>

#include "base/error.h"
#include "os/vault_dir.h"

namespace hx {

// Where the version at a path goes when another replaces it (a merge
// policy's loser).
struct Displacement {
  // Vault-relative: inside .hx/ (the archive) or a content path (a
  // conflict copy).
  std::string to;
  // The archive's rule (sync/archive.h): when `to` is taken by something
  // else, the first free "<to>.~N~" (N = 2, 3, ...).
  bool free_variant = false;
  // A keep_both conflict copy (sync/resolve.h): when `to` is taken, a file
  // or symlink there with the same content (bytes and executable bit, or
  // target) already keeps this version — nothing is written there, and the
  // path is simply replaced (or, for a deletion, removed); other bytes get
  // the first free ConflictCopyVariant(to, N) (N = 2, 3, ...). Never
  // replaces anything.
  bool conflict_copy = false;
  // Whether d's directory is fsynced once the version has its new name.
  // The local history cache (versions/versions.h) skips it: its versions
  // are a cache of what the store holds, and one fsync per replaced file
  // would cost a journal commit each.
  bool durable = true;
  // With neither, a taken `to` fails the item (KC_SYNC_APPLY_FAILED,
  // kConflict). In every case a name that already holds this very version
  // (the same inode: a link an interrupted run left) is reused.
};

// A version staged to replace what is at a path: `name` in the open
// directory `dir` (on the vault's file system, e.g. .hx/staging/), durable.
// A directory is staged empty.
struct StagedVersion {
  int dir = -1;
  std::string name;
  bool is_dir = false;
};

// Puts `staged` at `slot` (the vault path `path`; the caller has re-checked
// that what is there is the version to keep, a directory when `old_is_dir`)
// and keeps the version that was there at d's name (see above). Returns
// where the old version is now (vault-relative). On error the path holds
// the old version and `staged` is at its name (the caller drops it), except
// after a second failure while undoing, which the error names.
// Errors: KC_SYNC_APPLY_FAILED naming the path: kConflict when d's name is
// taken by something else (without free_variant), the errno's category
// when the file system refuses.
Result<std::string> ReplaceKeeping(const VaultDir& vault, const VaultSlot& slot,
                                   const std::string& path, bool old_is_dir,
                                   const StagedVersion& staged, const Displacement& d);

// A remote deletion that keeps the version at `slot` (the vault path
// `path`): renamed to d's name, never over anything. Returns where it is
// now (vault-relative). Errors as ReplaceKeeping's.
Result<std::string> MoveKeeping(const VaultDir& vault, const VaultSlot& slot,
                                const std::string& path, const Displacement& d);

}  // namespace hx
