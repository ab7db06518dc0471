// A minimal POSIX ustar archive: regular files only, written in memory (a
// diagnostic bundle is small and bounded) and read back with bounds (tests,
// and anyone checking a bundle). Names are at most 100 bytes (no prefix
// field); each member is at most 8 GiB - 1 (11 octal digits).
//
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hx::diag {

struct TarMember {
  std::string name;   // '/'-separated, relative, at most 100 bytes
  std::string bytes;
  std::int64_t mtime_s = 0;
  int mode = 0644;
};

// The archive: one 512-byte header per member, its bytes padded to 512,
// then two zero blocks. KC_SYNC_INPUT_INVALID for a name that is empty,
// absolute, holds "..", a NUL, or is longer than 100 bytes.
Result<std::string> WriteUstar(const std::vector<TarMember>& members);

// Parses an archive WriteUstar made (regular files; other types are
// refused), at most `max_members` members. Checks every header's checksum
// and magic. KC_SYNC_STATE_FAILED (corrupt) for anything else.
Result<std::vector<TarMember>> ReadUstar(std::string_view archive, std::size_t max_members);

}  // namespace hx::diag
