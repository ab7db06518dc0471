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
// Thread-safety: functions of the vault folder; callers hold the vault's
// process lock (LocalState).
#pragma once

#include <filesystem>
#include <string_view>

#include "base/error.h"
#include "sync/local_state.h"

namespace hx {

// .hx/archive
std::filesystem::path ArchiveDir(const LocalState& local);

// Whether `reason_id` is usable as an archive directory name:
// [a-z0-9_-], 1..128 characters.
bool IsValidReasonId(std::string_view reason_id);

// Moves the file or symlink at <vault>/<rel_path> into the archive under
// `reason_id` and returns where it now is (absolute). Errors:
// KC_SYNC_INPUT_INVALID for an unsafe rel_path (absolute, empty, "." or ".."
// components, inside .hx) or reason_id; KC_SYNC_APPLY_FAILED (not_found)
// if there is nothing at rel_path, (invalid_input) if it is a directory, and
// (io / no_space / auth) when the file system refuses.
Result<std::filesystem::path> ArchiveVersion(const LocalState& local, std::string_view rel_path,
                                             std::string_view reason_id);

// Like ArchiveVersion, but archives the file `source` (which must be on the
// vault's file system, e.g. a file staged in .hx/staging/) as if it were the
// version of rel_path: used to keep the store's version of a path.
Result<std::filesystem::path> ArchiveFileAs(const LocalState& local,
                                            const std::filesystem::path& source,
                                            std::string_view rel_path, std::string_view reason_id);

// Renames `from` to `to` (same file system) unless `to` exists, creating
// `to`'s parent directories, then fsyncs both directories. EEXIST and
// other failures: KC_SYNC_APPLY_FAILED naming the path.
Status MoveNoReplace(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace hx
