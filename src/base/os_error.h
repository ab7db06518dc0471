// Errors of local file-system calls, by errno: one mapping for every module
// that touches the vault folder or .hx/ (the folder store keeps its own,
// richer one: it names the errno for machines and says what to check on the
// store's disk).
//
// Thread-safety: pure functions (strerror_r-free: std::strerror's text is
// copied at once).
#pragma once

#include <filesystem>
#include <string_view>

#include "base/error.h"

namespace hx {

// ENOSPC, EDQUOT -> kNoSpace; EACCES, EPERM, EROFS -> kAuth; else kIo.
Category CategoryOfErrno(int err);

// "<what> <path>: <strerror(err)>[; <hint>]" with `code`, the errno's
// category and details {path}.
Error OsError(SyncCode code, std::string_view what, const std::filesystem::path& path, int err,
              std::string_view hint = {});

}  // namespace hx
