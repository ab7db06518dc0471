// The archive: where a merge policy puts the version of a file that lost,
// so that resolving a conflict never destroys a byte. It lives in the
// device's local state and is never synced:
//
//   <vault>/.hx/archive/<reason_id>/<rel_path>
//
// `reason_id` names why the version was archived, built from ids only (never
// the clock), e.g. "pull-<remote snapshot id prefix>-local": the same pull
// on the same state archives to the same place. If that place is taken by an
// earlier archived version, the new one gets the first free name
// "<rel_path>.~N~" (N = 2, 3, ...): the archive never overwrites.
//
// Moves are crash-safe: a rename within the vault's file system that refuses
// to replace an existing file (renameat2 RENAME_NOREPLACE, or link + unlink
// where that is unsupported), then an fsync of the directory. A crash leaves
// the version either where it was or in the archive (with link + unlink,
// possibly in both: never in neither).
//
// Every move goes through a VaultDir (os/vault_dir.h) and the caller's Env:
// both ends are reached from the vault root's descriptor without following
// a symlink, so a symlinked or swapped directory in the vault (or in
// .hx/archive/) fails the move (KC_SYNC_APPLY_FAILED, Category::kConflict)
// and nothing moves outside the vault.
//
// Thread-safety: functions of the vault folder; callers hold the vault's
// process lock (LocalState).
#pragma once

#include <filesystem>
#include <string_view>

#include "base/error.h"
#include "os/env.h"
#include "os/vault_dir.h"
#include "sync/local_state.h"

namespace hx {

// .hx/archive
std::filesystem::path ArchiveDir(const LocalState& local);

// Whether `reason_id` is usable as an archive directory name:
// [a-z0-9_-], 1..128 characters.
bool IsValidReasonId(std::string_view reason_id);

// The vault-relative path where `rel_path`'s version archived under
// `reason_id` goes first: ".hx/archive/<reason_id>/<rel_path>" (the state
// area of os/vault_dir.h). The caller checks both (IsValidReasonId; the
// VaultDir checks the path).
std::string ArchiveStateRel(std::string_view reason_id, std::string_view rel_path);

// The first of "<base>", "<base>-2", "<base>-3", ... that nothing in the
// archive is named yet: the reason id of an operation named after the time
// (`hx sync link`'s "link-<now_ms>", an envelope apply's), so a rerun in the
// same millisecond never collides with the earlier run's archive (the
// caller holds the vault's lock). `base` must be a valid reason id. Errors:
// looking at .hx/archive/ fails (the errno's category, naming it).
Result<std::string> FreeArchiveReason(const VaultDir& vault, std::string_view base);

// Moves the file or symlink at <vault>/<rel_path> into the archive under
// `reason_id` and returns where it now is (absolute). Errors:
// KC_SYNC_INPUT_INVALID for an unsafe rel_path (absolute, empty, "." or ".."
// components, inside .hx) or reason_id; KC_SYNC_APPLY_FAILED (not_found)
// if there is nothing at rel_path, (invalid_input) if it is a directory, and
// (io / no_space / auth) when the file system refuses.
Result<std::filesystem::path> ArchiveVersion(const LocalState& local, std::string_view rel_path,
                                             std::string_view reason_id,
                                             Env& env = Env::Default());

// Like ArchiveVersion, but archives the file `source` (which must be inside
// the vault's .hx/, e.g. a file staged in .hx/staging/) as if it were the
// version of rel_path: used to keep the store's version of a path.
Result<std::filesystem::path> ArchiveFileAs(const LocalState& local,
                                            const std::filesystem::path& source,
                                            std::string_view rel_path, std::string_view reason_id,
                                            Env& env = Env::Default());

// Renames the vault path `from_rel` to `to_rel` unless something is at
// `to_rel`, creating `to_rel`'s missing parent directories (one component at
// a time, never through a symlink), then fsyncs both directories. Each path
// is checked for its area (content paths never lead into .hx/). EEXIST and
// other failures: KC_SYNC_APPLY_FAILED naming the path.
Status MoveNoReplace(const VaultDir& vault, std::string_view from_rel, VaultArea from_area,
                     std::string_view to_rel, VaultArea to_area);
// The same between two content paths of `local`'s vault (a conflict copy).
Status MoveNoReplace(const LocalState& local, std::string_view from_rel, std::string_view to_rel,
                     Env& env = Env::Default());

}  // namespace hx
