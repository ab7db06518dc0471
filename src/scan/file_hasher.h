// Reads one regular file of the vault through FastCDC, checking that it did
// not change while being read. Internal to the scanner (scanner.cc), apart
// so that its stability rule can be read and tested on its own.
//
// Thread-safety: HashFile is reentrant; give each thread its own
// ChunkStream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "base/error.h"
#include "chunk/chunk_stream.h"
#include "index/stat_cache.h"
#include "os/env.h"
#include "repo/tree.h"
#include "scan/scanner.h"

namespace hx {

// The cache-relevant fields of an lstat/fstat result.
FileStat FileStatOf(const struct stat& st);

struct HashedFile {
  FileStat stat;  // fstat at the end of the successful read
  std::vector<ChunkRef> chunks;
};

// The outcome of hashing one file.
struct HashFileOutcome {
  // Set when the file was read consistently.
  std::optional<HashedFile> file;
  // Set when it exists but could not be read consistently (see ScanError).
  std::optional<Error> error;
  // Neither is set when the file vanished before it could be opened.
  int reads = 0;                 // 0, 1, or 2 if the first read saw a change
  std::uint64_t bytes_read = 0;  // over all reads
};

// Opens `name` in the directory `dir_fd` without following a symlink and
// reads it chunk by chunk through `stream`, calling `chunk_id` for each
// chunk. A read is consistent if size, mtime and ctime are the same at the
// start and at the end, and exactly that many bytes were read. An
// inconsistent read is repeated once; a second one gives an error with
// category aborted ("changed while being read"). `path` (vault-relative)
// names the file in errors. Every call goes through `env`.
HashFileOutcome HashFile(Env& env, int dir_fd, const std::string& name, const std::string& path,
                         ChunkStream& stream, const ChunkIdFn& chunk_id);

}  // namespace hx
